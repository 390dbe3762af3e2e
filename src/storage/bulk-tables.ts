import type { SqlExecutor, Storage, Tx } from './types.js';

/**
 * The Bulk Data export's own tables (src/bulk): `bulk_jobs`, one row per kick-off with its plan, its
 * saved cursor and its owner, and `bulk_files`, the NDJSON files it wrote — in the database, so that
 * any node serves them and a restarted job resumes where its last file ended. What src/bulk asks of
 * them, as named statements: SQL stays in storage.
 */
export function bulkTables(BIG: string): string[] {
  return [
    `CREATE TABLE IF NOT EXISTS bulk_jobs (
      id TEXT PRIMARY KEY,
      status TEXT NOT NULL,
      owner TEXT,
      request TEXT NOT NULL,
      plan TEXT NOT NULL,
      cursor TEXT NOT NULL,
      requires_token INTEGER NOT NULL,
      transaction_time ${BIG} NOT NULL,
      created ${BIG} NOT NULL,
      expires ${BIG} NOT NULL,
      attempts INTEGER NOT NULL DEFAULT 0,
      error TEXT
    )`,
    'CREATE INDEX IF NOT EXISTS bulk_jobs_status ON bulk_jobs (status)',
    `CREATE TABLE IF NOT EXISTS bulk_files (
      job TEXT NOT NULL,
      seq INTEGER NOT NULL,
      kind TEXT NOT NULL,
      type TEXT NOT NULL,
      count INTEGER NOT NULL,
      bytes ${BIG} NOT NULL,
      content TEXT NOT NULL,
      PRIMARY KEY (job, seq)
    )`,
  ];
}

/** A job as stored; `plan` and `cursor` are JSON the bulk area reads. */
export interface BulkJobRow {
  id: string;
  status: 'accepted' | 'in-progress' | 'completed' | 'failed';
  owner: string | null;
  request: string;
  plan: string;
  cursor: string;
  requiresToken: boolean;
  transactionTime: number;
  created: number;
  expires: number;
  attempts: number;
  error: string | null;
}

/** One NDJSON file of a job: an `output` of one type, an `error` (OperationOutcomes) or `deleted` (Bundles). */
export interface BulkFileInfo {
  seq: number;
  kind: 'output' | 'error' | 'deleted';
  type: string;
  count: number;
  bytes: number;
}

interface JobColumns {
  id: string;
  status: BulkJobRow['status'];
  owner: string | null;
  request: string;
  plan: string;
  cursor: string;
  requires_token: number | string;
  transaction_time: number | string;
  created: number | string;
  expires: number | string;
  attempts: number | string;
  error: string | null;
}

const JOB_COLS =
  'id, status, owner, request, plan, cursor, requires_token, transaction_time, created, expires, attempts, error';

function jobOf(r: JobColumns): BulkJobRow {
  return {
    id: r.id,
    status: r.status,
    owner: r.owner,
    request: r.request,
    plan: r.plan,
    cursor: r.cursor,
    requiresToken: Number(r.requires_token) === 1,
    transactionTime: Number(r.transaction_time),
    created: Number(r.created),
    expires: Number(r.expires),
    attempts: Number(r.attempts),
    error: r.error,
  };
}

export async function insertJob(tx: Tx, job: Omit<BulkJobRow, 'attempts' | 'error'>): Promise<void> {
  await tx.run(
    `INSERT INTO bulk_jobs (id, status, owner, request, plan, cursor, requires_token, transaction_time, created, expires)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    [
      job.id,
      job.status,
      job.owner,
      job.request,
      job.plan,
      job.cursor,
      job.requiresToken ? 1 : 0,
      job.transactionTime,
      job.created,
      job.expires,
    ],
  );
}

export async function readJob(db: SqlExecutor, id: string): Promise<BulkJobRow | undefined> {
  const row = await db.get<JobColumns>(`SELECT ${JOB_COLS} FROM bulk_jobs WHERE id = ?`, [id]);
  return row && jobOf(row);
}

/** The jobs still to run (accepted, or begun by a node that may have died), oldest first. */
export async function unfinishedJobs(db: SqlExecutor, limit: number): Promise<string[]> {
  const rows = await db.all<{ id: string }>(
    `SELECT id FROM bulk_jobs WHERE status IN ('accepted', 'in-progress') ORDER BY created, id LIMIT ?`,
    [limit],
  );
  return rows.map((r) => r.id);
}

/**
 * Saves a running job's cursor (with the files written up to it, in the same transaction). 0 changes:
 * the job is gone (cancelled) or no longer running, and the caller rolls back.
 */
export async function saveCursor(tx: Tx, id: string, cursor: string, expires: number): Promise<number> {
  // a job still running is kept at least the expiry period past its last file
  const { changes } = await tx.run(
    `UPDATE bulk_jobs SET status = 'in-progress', cursor = ?, expires = CASE WHEN expires < ? THEN ? ELSE expires END
     WHERE id = ? AND status IN ('accepted', 'in-progress')`,
    [cursor, expires, expires, id],
  );
  return changes;
}

/** The job's last file is written: completed, kept until `expires` (the server's clock, epoch ms). */
export async function completeJob(tx: Tx, id: string, cursor: string, expires: number): Promise<number> {
  const { changes } = await tx.run(
    `UPDATE bulk_jobs SET status = 'completed', cursor = ?, expires = ?
     WHERE id = ? AND status IN ('accepted', 'in-progress')`,
    [cursor, expires, id],
  );
  return changes;
}

/** A failed attempt: counted; at `failAt` attempts the job is failed with `error`. */
export async function countFailure(tx: Tx, id: string, failAt: number, error: string): Promise<void> {
  await tx.run(
    `UPDATE bulk_jobs SET attempts = attempts + 1,
       status = CASE WHEN attempts + 1 >= ? THEN 'failed' ELSE status END, error = ?
     WHERE id = ? AND status IN ('accepted', 'in-progress')`,
    [failAt, error.slice(0, 500), id],
  );
}

export async function insertFile(tx: Tx, job: string, file: BulkFileInfo, content: string): Promise<void> {
  await tx.run(`INSERT INTO bulk_files (job, seq, kind, type, count, bytes, content) VALUES (?, ?, ?, ?, ?, ?, ?)`, [
    job,
    file.seq,
    file.kind,
    file.type,
    file.count,
    file.bytes,
    content,
  ]);
}

/** The files of a job, in order, without their content. */
export async function listFiles(db: SqlExecutor, job: string): Promise<BulkFileInfo[]> {
  const rows = await db.all<Record<keyof BulkFileInfo, string | number>>(
    'SELECT seq, kind, type, count, bytes FROM bulk_files WHERE job = ? ORDER BY seq',
    [job],
  );
  return rows.map((r) => ({
    seq: Number(r.seq),
    kind: r.kind as BulkFileInfo['kind'],
    type: String(r.type),
    count: Number(r.count),
    bytes: Number(r.bytes),
  }));
}

export async function fileContent(db: SqlExecutor, job: string, seq: number): Promise<string | undefined> {
  const row = await db.get<{ content: string }>('SELECT content FROM bulk_files WHERE job = ? AND seq = ?', [job, seq]);
  return row?.content;
}

/**
 * A job and its files go (cancelled, or expired). Returns whether there was a job. The job's row first:
 * its lock waits for a save of files under way (which updates that row), whose files are then seen and
 * deleted too; a save after this finds no job and rolls back.
 */
export async function deleteJob(tx: Tx, id: string): Promise<boolean> {
  const { changes } = await tx.run('DELETE FROM bulk_jobs WHERE id = ?', [id]);
  await tx.run('DELETE FROM bulk_files WHERE job = ?', [id]);
  return changes > 0;
}

/** The jobs whose files have expired by the server's clock (`now`, epoch ms). */
export async function expiredJobs(db: SqlExecutor, now: number, limit: number): Promise<string[]> {
  const rows = await db.all<{ id: string }>('SELECT id FROM bulk_jobs WHERE expires < ? ORDER BY expires LIMIT ?', [
    now,
    limit,
  ]);
  return rows.map((r) => r.id);
}

/**
 * Waits until every transaction that had begun writing when this was called has ended, so that a
 * snapshot taken afterwards by MAX(history.seq) holds every version stamped before now: a writer stamps
 * `lastUpdated` inside its transaction and commits later, and on PostgreSQL may take its number first
 * and commit last. PostgreSQL: a transaction id of our own is taken (`txid_current()`, newer than every
 * writer's already assigned), then we wait until the oldest running transaction is newer than it (gives
 * up after `maxMs`, a transaction left open, and says so). Not a snapshot's `xmax`: that is the newest
 * *completed* id plus one, and a writer holding the newest id is not below it. SQLite: an empty
 * transaction, which commits after the group of writes under way.
 */
export async function awaitWritersInFlight(storage: Storage, maxMs = 5000): Promise<boolean> {
  if (storage.kind !== 'postgres') {
    await storage.transaction(async () => undefined);
    return true;
  }
  const now = await storage.get<{ x: string }>('SELECT txid_current()::text AS x');
  const until = Date.now() + maxMs;
  for (;;) {
    const oldest = await storage.get<{ done: boolean }>(
      'SELECT txid_snapshot_xmin(txid_current_snapshot()) > ?::bigint AS done',
      [now?.x ?? '0'],
    );
    if (oldest?.done) return true;
    if (Date.now() > until) return false;
    await new Promise((r) => setTimeout(r, 5));
  }
}
