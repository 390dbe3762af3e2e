import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { FaultCounts } from './faults.js';
import { missingColumnsSql } from './added-columns.js';
import { schemaSql } from './schema.js';
import { WalSync } from './wal-sync.js';
import { SqliteCheckpointer } from './sqlite-checkpointer.js';
import {
  snapshotRun,
  type SqlExecutor,
  type SqlValue,
  type Storage,
  type StorageStats,
  type TransactionOptions,
  type Tx,
} from './types.js';

interface Pending {
  fn: (tx: Tx) => Promise<unknown>;
  /** false: answered at COMMIT, not after the fsync (TransactionOptions). */
  durable: boolean;
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
}

/** How one transaction of a group ended: its value, or what it threw. */
interface Outcome {
  item: Pending;
  ok: boolean;
  value: unknown;
}

/** At most this many transactions share one commit, bounding a group's latency. */
const MAX_GROUP = 64;

/**
 * How many storages of this process have each database file open. With two (two nodes in one process,
 * as tests run them), one must not hold its transaction open across an event-loop turn (joinable): the
 * other's BEGIN IMMEDIATE waits for the lock synchronously, blocking the very loop whose I/O callback
 * would end the first one's wait — the two would stall until the busy timeout.
 */
const openInProcess = new Map<string, number>();

export interface SqliteOptions {
  /**
   * How long a statement waits for a lock another process holds before it fails with SQLITE_BUSY
   * (answered 503): another `forlop serve`, a backup, an `sqlite3` shell in a transaction.
   */
  busyTimeoutMs?: number;
  /** A size quota in pages (PRAGMA max_page_count): past it a write fails as on a full disk (507). */
  maxPages?: number;
  /** The least time between two checkpoints of the WAL (sqlite-checkpointer.ts; default 1 s). */
  checkpointEveryMs?: number;
}

/** The default busy timeout: longer than any one commit of ours, short enough to answer a client. */
export const SQLITE_BUSY_TIMEOUT_MS = 10_000;

/**
 * The embedded backend: SQLite through better-sqlite3, WAL mode; a commit is on disk before the
 * response is sent (the WAL is synced off the event loop, wal-sync.ts). Two connections: one writer
 * (transactions, serialised in this process by the group-commit queue and across processes by BEGIN
 * IMMEDIATE) and one reader that sees only committed data — which may be a few milliseconds before
 * it is durable; the writer's caller is answered only after.
 */
export class SqliteStorage implements Storage {
  readonly kind = 'sqlite' as const;
  private readonly writer: Database.Database;
  private readonly reader: Database.Database;
  private readonly pending: Pending[] = [];
  private flushing = false;
  /** Ends a group's wait for the WAL sync early (a transaction that asked for no durability arrived). */
  private wakeGroup?: () => void;
  private readonly tx: Tx;
  private readonly cache = new Map<string, Database.Statement>();
  private readonly readCache = new Map<string, Database.Statement>();
  private readonly faults = new FaultCounts();
  private readonly wal: WalSync;
  private readonly checkpointer: SqliteCheckpointer;
  private readonly path: string;

  constructor(
    private readonly file: string,
    options: SqliteOptions = {},
  ) {
    const busyMs = options.busyTimeoutMs ?? SQLITE_BUSY_TIMEOUT_MS;
    let writer: Database.Database | undefined;
    try {
      mkdirSync(dirname(file), { recursive: true });
      // the writer's commits do not wait for the disk themselves: WalSync makes them durable before answering
      writer = open(file, busyMs, 'NORMAL');
      for (const sql of schemaSql('sqlite')) writer.exec(sql);
      const has = writer.prepare('SELECT 1 FROM pragma_table_info(?) WHERE name = ?');
      for (const sql of missingColumnsSql((table, column) => has.get(table, column) !== undefined)) writer.exec(sql);
      if (options.maxPages !== undefined) writer.pragma(`max_page_count = ${Math.floor(options.maxPages)}`);
      this.reader = open(file, busyMs);
    } catch (err) {
      writer?.close();
      throw openError(file, err, busyMs);
    }
    this.writer = writer;
    this.path = resolve(file);
    openInProcess.set(this.path, (openInProcess.get(this.path) ?? 0) + 1);
    this.wal = new WalSync(`${file}-wal`);
    // checkpoints run on a thread of their own; SQLite's own (inside a COMMIT) only if that thread fails
    writer.pragma('wal_autocheckpoint = 0');
    const ownCheckpoints = () => writer.pragma('wal_autocheckpoint = 1000');
    this.checkpointer = new SqliteCheckpointer(file, busyMs, ownCheckpoints, options.checkpointEveryMs);
    const stmt = (sql: string) => this.stmt(this.writer, this.cache, sql);
    this.tx = {
      all: async <R extends object>(sql: string, p: readonly SqlValue[] = []) => stmt(sql).all(...p) as R[],
      get: async <R extends object>(sql: string, p: readonly SqlValue[] = []) => stmt(sql).get(...p) as R | undefined,
      run: async (sql, p = []) => ({ changes: stmt(sql).run(...p).changes }),
      // BEGIN IMMEDIATE already holds the one write lock of the database
      lock: async () => undefined,
    };
  }

  private stmt(db: Database.Database, cache: Map<string, Database.Statement>, sql: string): Database.Statement {
    let s = cache.get(sql);
    if (!s) {
      s = db.prepare(sql);
      cache.set(sql, s);
    }
    return s;
  }

  async all<T extends object>(sql: string, params: readonly SqlValue[] = []): Promise<T[]> {
    return this.counted(() => this.stmt(this.reader, this.readCache, sql).all(...params) as T[]);
  }
  async get<T extends object>(sql: string, params: readonly SqlValue[] = []): Promise<T | undefined> {
    return this.counted(() => this.stmt(this.reader, this.readCache, sql).get(...params) as T | undefined);
  }

  /** A read, its failure counted for the metrics. */
  private counted<T>(read: () => T): T {
    try {
      return read();
    } catch (err) {
      this.faults.record(err);
      throw err;
    }
  }

  /** One connection each, no pool: only the error counts (read at scrape time). */
  stats(): StorageStats {
    return { pools: [], errors: { ...this.faults.counts } };
  }
  async run(sql: string, params: readonly SqlValue[] = []): Promise<{ changes: number }> {
    return this.transaction((tx) => tx.run(sql, params));
  }

  /**
   * Group commit: transactions requested in the same event-loop turn, or while the last group's WAL
   * sync runs (joinable), run one after another, each in a SAVEPOINT of one SQLite transaction, and are
   * committed together. A failing transaction rolls back to its savepoint only; every caller is
   * answered after a WAL sync that began after the COMMIT (WalSync), so a reply still means the write
   * is on disk — except one that asked for `durable: false`, answered at COMMIT.
   */
  transaction<T>(fn: (tx: Tx) => Promise<T>, options: TransactionOptions = {}): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.pending.push({ fn, durable: options.durable ?? true, resolve: resolve as (v: unknown) => void, reject });
      if (options.durable === false) this.wakeGroup?.();
      if (!this.flushing) {
        this.flushing = true;
        // after this turn's I/O callbacks, so requests that arrived together share a commit
        setImmediate(() => void this.flush());
      }
    });
  }

  private async flush(): Promise<void> {
    try {
      while (this.pending.length) await this.commitGroup();
    } finally {
      this.flushing = false;
      if (this.pending.length) {
        this.flushing = true;
        setImmediate(() => void this.flush());
      }
    }
  }

  private async commitGroup(): Promise<void> {
    const db = this.writer;
    // taken before BEGIN: if BEGIN fails (the file locked by another process), they are the ones answered
    const group = this.pending.splice(0, MAX_GROUP);
    const outcomes: Outcome[] = [];
    try {
      db.exec('BEGIN IMMEDIATE');
      let ran = 0;
      do {
        while (ran < group.length) await this.runOne(group[ran++], outcomes);
      } while ((await this.joinable(group)) && group.push(...this.pending.splice(0, MAX_GROUP - group.length)));
      db.exec('COMMIT');
    } catch (err) {
      if (!outcomes.some((o) => o.value === err)) this.faults.record(err);
      if (db.inTransaction) db.exec('ROLLBACK');
      for (const item of group) item.reject(outcomes.find((o) => o.item === item && !o.ok)?.value ?? err);
      return;
    }
    this.checkpointer.afterCommit();
    const answer = (o: Outcome) => (o.ok ? o.item.resolve : o.item.reject)(o.value);
    // committed and visible: who asked for no durability hears now
    for (const o of outcomes) if (!o.item.durable) answer(o);
    // nothing to sync for a group of such only (a batch of DPoP jtis): the next durable commit's sync
    // takes their frames to disk too, and no running sync holds the next group back (joinable)
    if (!group.some((item) => item.durable)) return;
    // the next group runs while the disk catches up; this group's callers hear once its commit is durable
    this.wal.sync().then(
      () => {
        for (const o of outcomes) if (o.item.durable) answer(o);
      },
      (err: unknown) => {
        this.faults.record(err);
        for (const item of group) item.reject(err);
      },
    );
  }

  /** One transaction of a group, in a savepoint: its failure rolls back only its own work. */
  private async runOne(item: Pending, outcomes: Outcome[]): Promise<void> {
    this.writer.exec('SAVEPOINT forlop_tx');
    try {
      outcomes.push({ item, ok: true, value: await item.fn(this.tx) });
      this.writer.exec('RELEASE forlop_tx');
    } catch (err) {
      outcomes.push({ item, ok: false, value: err });
      // a handler's own error (a FhirError) is not the database's
      if (String((err as { code?: unknown })?.code).startsWith('SQLITE_')) this.faults.record(err);
      rollBackOne(this.writer, err);
    }
  }

  /**
   * Whether the group stays open for more (issue 21): while the last group's WAL sync runs, a durable
   * transaction's callers could not hear before the next sync anyway, so the COMMIT waits for it and
   * the transactions arriving meanwhile run in the same SQLite transaction — their work overlapping the
   * disk's. A COMMIT writes every page it changed to the WAL, and a group's writes share most pages (the
   * tables' and indexes' newest leaves). A full group does not wait, nor one whose caller asked for no
   * durability (answered at COMMIT); one such arriving during the wait ends it.
   */
  private async joinable(group: Pending[]): Promise<boolean> {
    if (group.length >= MAX_GROUP || group.some((p) => !p.durable) || !this.wal.busy) return false;
    if ((openInProcess.get(this.path) ?? 0) > 1) return false;
    await new Promise<void>((resolve) => {
      this.wakeGroup = resolve;
      void this.wal.settled().then(resolve);
    });
    this.wakeGroup = undefined;
    return this.pending.length > 0;
  }

  /** A read transaction on a connection of its own: in WAL mode it sees the data as of its first read. */
  async snapshot<T>(fn: (db: SqlExecutor) => Promise<T>): Promise<T> {
    const db = new Database(this.file, { readonly: true });
    // a long reader walks much of the database: memory-mapped reads spare a system call per page
    db.pragma('mmap_size = 68719476736');
    db.pragma('cache_size = -65536');
    const cache = new Map<string, Database.Statement>();
    const exec: SqlExecutor = {
      all: async <R extends object>(sql: string, p: readonly SqlValue[] = []) =>
        this.stmt(db, cache, sql).all(...p) as R[],
      get: async <R extends object>(sql: string, p: readonly SqlValue[] = []) =>
        this.stmt(db, cache, sql).get(...p) as R | undefined,
      run: snapshotRun,
    };
    try {
      db.exec('BEGIN');
      return await fn(exec);
    } finally {
      if (db.inTransaction) db.exec('COMMIT');
      db.close();
    }
  }

  async close(): Promise<void> {
    await this.transaction(async () => undefined); // lets queued writes commit (and be synced) first
    await this.checkpointer.close();
    this.reader.close();
    this.writer.close();
    this.wal.close();
    const left = (openInProcess.get(this.path) ?? 1) - 1;
    if (left > 0) openInProcess.set(this.path, left);
    else openInProcess.delete(this.path);
  }
}

/**
 * Rolls one failed transaction of a group back to its savepoint. When SQLite has already aborted the
 * whole transaction (SQLITE_FULL, SQLITE_BUSY and I/O errors may), there is no savepoint left: the
 * group fails, and every caller in it gets the cause (a full disk: 507), not "no such savepoint".
 */
function rollBackOne(db: Database.Database, cause: unknown): void {
  if (!db.inTransaction) throw cause;
  try {
    db.exec('ROLLBACK TO forlop_tx');
    db.exec('RELEASE forlop_tx');
  } catch {
    throw cause;
  }
}

/** The busy timeout comes first: even switching to WAL waits for a lock another process holds. */
function open(file: string, busyTimeoutMs: number, synchronous: 'FULL' | 'NORMAL' = 'FULL'): Database.Database {
  const db = new Database(file, { timeout: busyTimeoutMs });
  db.pragma('journal_mode = WAL');
  db.pragma(`synchronous = ${synchronous}`);
  db.pragma('foreign_keys = ON');
  db.pragma('cache_size = -65536');
  return db;
}

/** A start-up failure that names the file and says what to do (the message `forlop serve` prints). */
function openError(file: string, err: unknown, busyTimeoutMs: number): Error {
  const code = String((err as { code?: unknown })?.code ?? '');
  const why = /^SQLITE_BUSY|^SQLITE_LOCKED/.test(code)
    ? `it is locked by another process (still after ${busyTimeoutMs} ms): ` +
      'is another server or an sqlite3 shell using it?'
    : code === 'SQLITE_FULL'
      ? 'the disk (or the database quota) is full'
      : code === 'SQLITE_NOTADB'
        ? 'the file is not an SQLite database'
        : ((err as Error)?.message ?? String(err));
  return new Error(`Cannot open the SQLite database ${file}: ${why}${code ? ` (${code})` : ''}`, { cause: err });
}
