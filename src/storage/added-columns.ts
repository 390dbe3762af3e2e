import type { SqlExecutor } from './types.js';

/**
 * Columns added to a table after the release that first made it. `CREATE TABLE IF NOT EXISTS` leaves
 * an existing table as it is, so a database made by an earlier version gets these at start-up instead
 * (each with a default, so its rows stay valid). Append only: a column once listed stays listed.
 */
export const ADDED_COLUMNS: ReadonlyArray<{ table: string; column: string; definition: string }> = [
  // issue 19: websocket Subscriptions beside rest-hook ones
  { table: 'subscription_state', column: 'channel', definition: "TEXT NOT NULL DEFAULT 'rest-hook'" },
];

/** The ALTER TABLE statements for the listed columns a table lacks (run after schemaSql, under its lock). */
export function missingColumnsSql(has: (table: string, column: string) => boolean): string[] {
  return ADDED_COLUMNS.filter((c) => !has(c.table, c.column)).map(
    (c) => `ALTER TABLE ${c.table} ADD COLUMN ${c.column} ${c.definition}`,
  );
}

/** PostgreSQL: which columns the tables of the current schema have, as `table.column`. */
export async function postgresColumns(db: SqlExecutor): Promise<Set<string>> {
  const rows = await db.all<{ t: string; c: string }>(
    'SELECT table_name AS t, column_name AS c FROM information_schema.columns WHERE table_schema = current_schema()',
  );
  return new Set(rows.map((r) => `${r.t}.${r.c}`));
}
