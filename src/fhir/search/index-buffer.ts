import type { SqlExecutor, SqlValue } from '../../storage/types.js';
import { INDEX_COLUMNS, type IndexTable } from './extract.js';

/** The most rows one INSERT carries: statement text (and the prepared-statement caches) keep 100 shapes. */
const ROWS_PER_INSERT = 100;

const INDEX_TABLE_NAMES = /\bsp_(?:token|string|reference|date|number|quantity|uri)\b/g;

/**
 * Index rows a transaction has written but not yet sent to the database (issue 21): a transaction
 * Bundle or `$apply` writes tens of resources, and their rows go in a few multi-row INSERTs per table
 * instead of several statements per resource — on PostgreSQL each statement is a round trip. Nothing
 * in the transaction can miss them: before any statement that names an index table (a search, a
 * conditional match, a DELETE of a resource's rows) the rows of that table are sent first, and all
 * of them before the transaction's commit hook and its commit (ResourceStore.transaction).
 */
export class IndexBuffer {
  private readonly pending = new Map<IndexTable, SqlValue[][]>();

  /** Keeps one row's values (rid, param and the table's columns) for the table. */
  add(table: IndexTable, values: SqlValue[]): void {
    const rows = this.pending.get(table);
    if (rows) rows.push(values);
    else this.pending.set(table, [values]);
  }

  /** Sends the kept rows of the index tables `sql` names, so the statement sees them. */
  async before(db: SqlExecutor, sql: string): Promise<void> {
    if (!this.pending.size || !sql.includes('sp_')) return;
    for (const name of new Set(sql.match(INDEX_TABLE_NAMES) ?? [])) await this.flushTable(db, name as IndexTable);
  }

  /** Sends every kept row. */
  async flush(db: SqlExecutor): Promise<void> {
    for (const table of [...this.pending.keys()]) await this.flushTable(db, table);
  }

  private async flushTable(db: SqlExecutor, table: IndexTable): Promise<void> {
    const rows = this.pending.get(table);
    if (!rows) return;
    this.pending.delete(table);
    await insertRows(db, table, rows);
  }
}

/** The INSERT of `n` rows into `table`, built once per shape (at most ROWS_PER_INSERT per table). */
const insertSql = new Map<string, string>();
function insertOf(table: IndexTable, n: number): string {
  const key = `${table}:${n}`;
  let sql = insertSql.get(key);
  if (!sql) {
    const cols = INDEX_COLUMNS[table];
    const tuple = `(${Array(cols.length + 2)
      .fill('?')
      .join(', ')})`;
    sql = `INSERT INTO ${table} (rid, param, ${cols.join(', ')}) VALUES ${Array(n).fill(tuple).join(', ')}`;
    insertSql.set(key, sql);
  }
  return sql;
}

/** Multi-row INSERTs of index rows, ROWS_PER_INSERT at a time. */
export async function insertRows(db: SqlExecutor, table: IndexTable, rows: SqlValue[][]): Promise<void> {
  for (let i = 0; i < rows.length; i += ROWS_PER_INSERT) {
    const end = Math.min(rows.length, i + ROWS_PER_INSERT);
    const params: SqlValue[] = [];
    for (let r = i; r < end; r++) for (const v of rows[r]) params.push(v);
    await db.run(insertOf(table, end - i), params);
  }
}
