import type { SqlExecutor } from './types.js';

/**
 * The audit journal (`audit_journal`, schema.ts): the audit trail's events as they happen, appended as
 * compact JSON with no index rows, and turned into searchable AuditEvent resources later, in bulk
 * (src/security/audit-journal.ts). What the security area asks of it, as named statements.
 */

/** One journalled event: its place in the journal, the AuditEvent id it will have, and its JSON. */
export interface JournalRow {
  seq: number;
  id: string;
  body: string;
}

/** The most rows one INSERT carries (3 parameters each: well under both backends' parameter limits). */
const ROWS_PER_INSERT = 200;

/** Appends events in the caller's transaction (a write's own, or a batch of reads'): one INSERT per 200. */
export async function appendJournal(
  db: SqlExecutor,
  rows: ReadonlyArray<{ id: string; recorded: number; body: string }>,
): Promise<void> {
  for (let i = 0; i < rows.length; i += ROWS_PER_INSERT) {
    const chunk = rows.slice(i, i + ROWS_PER_INSERT);
    await db.run(
      `INSERT INTO audit_journal (id, recorded, body) VALUES ${chunk.map(() => '(?, ?, ?)').join(', ')}`,
      chunk.flatMap((r) => [r.id, r.recorded, r.body]),
    );
  }
}

/** The oldest `limit` journalled events, in the order they were appended. */
export async function oldestJournalled(db: SqlExecutor, limit: number): Promise<JournalRow[]> {
  const rows = await db.all<{ seq: number | string; id: string; body: string }>(
    'SELECT seq, id, body FROM audit_journal ORDER BY seq LIMIT ?',
    [limit],
  );
  return rows.map((r) => ({ seq: Number(r.seq), id: r.id, body: r.body }));
}

/** Removes the journalled events up to and including `seq` (they are AuditEvent resources now). */
export async function removeJournalled(db: SqlExecutor, seq: number): Promise<void> {
  await db.run('DELETE FROM audit_journal WHERE seq <= ?', [seq]);
}

/** Whether anything waits to become an AuditEvent resource: one index probe, no count. */
export async function journalPending(db: SqlExecutor): Promise<boolean> {
  return (await db.get('SELECT seq FROM audit_journal ORDER BY seq LIMIT 1')) !== undefined;
}

/** How many events wait (the metrics, read at scrape time). */
export async function journalLength(db: SqlExecutor): Promise<number> {
  return Number((await db.get<{ n: number | string }>('SELECT COUNT(*) AS n FROM audit_journal'))?.n ?? 0);
}
