/**
 * The one place that tells a storage fault from a bug: an error thrown by `pg` or better-sqlite3 that
 * means "the database cannot do this now" (it restarts, a connection dropped, the file is locked) or
 * "the database is full". Everything else is a bug (500). `asFhirError` (fhir/errors.ts) turns these
 * into the `transient` (503 + Retry-After) and `insufficient-storage` (507) categories.
 */
export type StorageFault = 'transient' | 'full';

/**
 * PostgreSQL SQLSTATEs (Appendix A of its manual) that say the server, not the statement, failed:
 * 08xxx connection exceptions; 57P01 admin shutdown, 57P02 crash shutdown, 57P03 cannot connect now
 * (starting up, shutting down, in recovery), 57P05 idle session timeout; 53000/53200/53300/53400
 * insufficient resources (not 53100, disk full); 40001 serialization failure and 40P01 deadlock
 * (the transaction was rolled back whole and may simply be tried again); 58000 system error, 58030
 * I/O error; XX000 does not belong here (a bug in PostgreSQL or in us).
 */
const PG_TRANSIENT = /^(08...|57P0[1235]|53[0234]00|40001|40P01|58000|58030)$/;
const PG_FULL = '53100';

/** Node socket and DNS errors of a connection that was refused, cut or never made. */
const SOCKET_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ECONNABORTED',
]);

/** What `pg` says (without a code) when a connection ends under it, or a pool cannot give one in time. */
const PG_CONNECTION_MESSAGES = [
  /^Connection terminated/, // 'Connection terminated unexpectedly', '… due to connection timeout'
  /not queryable/, // 'Client has encountered a connection error and is not queryable', 'Client was closed …'
  /^timeout exceeded when trying to connect$/,
  /^Query read timeout$/,
];

/**
 * better-sqlite3's SqliteError codes: SQLITE_BUSY (another connection or process held the lock past
 * the busy timeout) and SQLITE_LOCKED are transient; SQLITE_FULL is a full disk (or the quota of
 * `max_page_count`). Other I/O errors (SQLITE_IOERR_*) stay 500: an operator must look at them.
 */
function sqliteFault(code: string): StorageFault | undefined {
  if (code === 'SQLITE_FULL') return 'full';
  if (/^SQLITE_(BUSY|LOCKED)(_|$)/.test(code)) return 'transient';
  return undefined;
}

/** The storage fault `err` stands for, or undefined (a bug, bad SQL, a constraint: not the database's state). */
export function storageFault(err: unknown): StorageFault | undefined {
  if (!(err instanceof Error)) return undefined;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string') {
    if (code.startsWith('SQLITE_')) return sqliteFault(code);
    if (code === PG_FULL) return 'full';
    if (PG_TRANSIENT.test(code) || SOCKET_CODES.has(code)) return 'transient';
  }
  if (PG_CONNECTION_MESSAGES.some((re) => re.test(err.message))) return 'transient';
  // an AggregateError (a connection tried on several addresses) or an error wrapping its cause
  const inner = (err as { errors?: unknown[] }).errors?.[0] ?? (err as { cause?: unknown }).cause;
  return inner && inner !== err ? storageFault(inner) : undefined;
}

/** A database error's class for the metrics: a storage fault, or anything else the database refused. */
export type FaultClass = StorageFault | 'other';

/** Errors the database gave, counted by class (read by `/metrics` at scrape time). */
export class FaultCounts {
  readonly counts: Record<FaultClass, number> = { transient: 0, full: 0, other: 0 };

  record(err: unknown): void {
    this.counts[storageFault(err) ?? 'other']++;
  }
}

/** Seconds a client should wait before trying again after a transient storage fault (Retry-After). */
export const RETRY_AFTER_SECONDS = 1;
