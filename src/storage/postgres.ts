import pg from 'pg';
import { FaultCounts, storageFault } from './faults.js';
import { missingColumnsSql, postgresColumns } from './added-columns.js';
import { schemaSql } from './schema.js';
import {
  lockId,
  snapshotRun,
  type SqlExecutor,
  type SqlValue,
  type Storage,
  type StorageStats,
  type TransactionOptions,
  type Tx,
} from './types.js';

// BIGINT columns hold epoch milliseconds and surrogate keys: all below 2^53, so numbers are exact.
pg.types.setTypeParser(20, (v) => Number(v));

/** `?` placeholders (the portable form used above the storage layer) to PostgreSQL's `$n`. */
const converted = new Map<string, string>();
function toPg(sql: string): string {
  let out = converted.get(sql);
  if (out === undefined) {
    let n = 0;
    out = sql.replace(/\?/g, () => `$${++n}`);
    converted.set(sql, out);
  }
  return out;
}

type Queryable = pg.Pool | pg.PoolClient;

function executor(client: pg.PoolClient, health: ConnectionHealth): SqlExecutor {
  return {
    all: async <R extends object>(sql: string, p: readonly SqlValue[] = []) =>
      (await query<R>(client, health, sql, p)).rows,
    get: async <R extends object>(sql: string, p: readonly SqlValue[] = []) =>
      (await query<R>(client, health, sql, p)).rows[0] as R | undefined,
    run: async (sql, p = []) => ({ changes: (await query(client, health, sql, p)).rowCount ?? 0 }),
  };
}

/**
 * Runs `fn` on a client of `pool` between `begin` and COMMIT (ROLLBACK on any throw). While the
 * client is checked out its 'error' event is ours to handle: a connection that drops between two
 * statements (the server restarting while `fn` validates) emits it, and an unhandled 'error' event
 * ends the process. The next statement then fails, the transaction is rolled back by the server
 * (it never committed), and the broken client is discarded, so the pool makes a new one.
 */
async function inTransaction<T>(
  pool: pg.Pool,
  health: ConnectionHealth,
  begin: string,
  fn: (client: pg.PoolClient) => Promise<T>,
): Promise<T> {
  const client = await health.watch(pool.connect());
  let broken: Error | undefined;
  const onError = (err: Error) => {
    broken = err;
    health.lost(err);
  };
  client.on('error', onError);
  try {
    await query(client, health, begin, []);
    const result = await fn(client);
    await query(client, health, 'COMMIT', []);
    return result;
  } catch (err) {
    try {
      if (!broken) await client.query('ROLLBACK');
    } catch (rollbackError) {
      broken = rollbackError as Error;
    }
    throw err;
  } finally {
    client.removeListener('error', onError);
    client.release(broken ?? false);
  }
}

async function query<T extends object>(
  q: Queryable,
  health: ConnectionHealth,
  sql: string,
  params: readonly SqlValue[],
): Promise<pg.QueryResult<T>> {
  return health.watch(q.query<T>(toPg(sql), params as SqlValue[]));
}

/**
 * Tells the log once when the database goes away (the first connection error after a good answer)
 * and once when it is back, with how long it was gone: one line each per outage, however many
 * connections and requests saw it.
 */
class ConnectionHealth {
  private lostAt?: number;
  /** Every statement or connection that failed, by fault class (the metrics). */
  readonly faults = new FaultCounts();

  constructor(private readonly log: StorageLog) {}

  lost(err: unknown): void {
    if (this.lostAt !== undefined || storageFault(err) !== 'transient') return;
    this.lostAt = Date.now();
    const msg = 'database connection lost: requests are answered 503 until it is back';
    this.log({ level: 'warn', msg, error: describe(err) });
  }

  async watch<T>(work: Promise<T>): Promise<T> {
    // only work begun after the loss was noticed proves the database back (work begun before may
    // still finish on a connection the restart has not reached yet)
    const lostBefore = this.lostAt !== undefined;
    try {
      const result = await work;
      if (lostBefore && this.lostAt !== undefined) {
        this.log({ level: 'info', msg: 'database connection back', outageMs: Date.now() - this.lostAt });
        this.lostAt = undefined;
      }
      return result;
    } catch (err) {
      this.faults.record(err);
      this.lost(err);
      throw err;
    }
  }
}

function describe(err: unknown): string {
  const code = (err as { code?: string })?.code;
  return `${code ? `${code}: ` : ''}${(err as Error)?.message ?? String(err)}`;
}

/** Where the backend reports the database going away and coming back (the server's JSON log). */
export type StorageLog = (entry: Record<string, unknown>) => void;

export interface PostgresOptions {
  schema?: string;
  poolSize?: number;
  readPoolSize?: number;
  log?: StorageLog;
  /** How long a request waits for a connection (a new one, or a free one from a busy pool) before 503. */
  connectTimeoutMs?: number;
}

/** A request waits this long for a database connection before it is answered 503. */
export const CONNECT_TIMEOUT_MS = 10_000;

/**
 * The production backend: PostgreSQL through `pg` pools. Transactions run on one pooled client at
 * READ COMMITTED; writers that must not race (same resource, same conditional-create criteria) take
 * advisory transaction locks, which hold across server processes sharing the database.
 *
 * Two pools: one for transactions and one for reads outside them. A write may read outside its own
 * transaction while it holds a client (the validator's terminology lookups see committed code systems
 * only); were both on one pool, as many concurrent writers as clients would each wait for a client
 * none of them gives back. Read clients run single SELECTs, which never wait on a writer's locks.
 */
export class PostgresStorage implements Storage {
  readonly kind = 'postgres' as const;

  private constructor(
    private readonly writers: pg.Pool,
    private readonly readers: pg.Pool,
    private readonly health: ConnectionHealth,
  ) {}

  static async connect(url: string, options: PostgresOptions = {}): Promise<PostgresStorage> {
    const health = new ConnectionHealth(options.log ?? (() => undefined));
    const pool = (max: number) => {
      const p = new pg.Pool({
        connectionString: url,
        max,
        connectionTimeoutMillis: options.connectTimeoutMs ?? CONNECT_TIMEOUT_MS,
        // TCP keep-alive: a peer gone without a word (a failed-over host) is noticed, not waited on
        keepAlive: true,
        ...(options.schema ? { options: `-c search_path=${options.schema}` } : {}),
      });
      // an idle client's error (the server restarting) must not end the process; the pool drops that client
      p.on('error', (err) => health.lost(err));
      return p;
    };
    const size = options.poolSize ?? 10;
    const storage = new PostgresStorage(pool(size), pool(options.readPoolSize ?? size), health);
    try {
      const schema = options.schema?.replace(/"/g, '');
      if (schema) await storage.writers.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
      await storage.transaction(async (tx) => {
        await tx.lock('forlop:migrate');
        for (const sql of schemaSql('postgres')) await tx.run(sql);
        const columns = await postgresColumns(tx);
        for (const sql of missingColumnsSql((t, c) => columns.has(`${t}.${c}`))) await tx.run(sql);
      });
    } catch (err) {
      await storage.close().catch(() => undefined);
      throw new Error(`Cannot open the PostgreSQL database ${redacted(url)}: ${describe(err)}`, { cause: err });
    }
    return storage;
  }

  async all<T extends object>(sql: string, params: readonly SqlValue[] = []): Promise<T[]> {
    return (await query<T>(this.readers, this.health, sql, params)).rows;
  }
  async get<T extends object>(sql: string, params: readonly SqlValue[] = []): Promise<T | undefined> {
    return (await query<T>(this.readers, this.health, sql, params)).rows[0] as T | undefined;
  }
  /** A statement that may write (and so wait on a writer's lock) runs on the writers' pool. */
  async run(sql: string, params: readonly SqlValue[] = []): Promise<{ changes: number }> {
    return { changes: (await query(this.writers, this.health, sql, params)).rowCount ?? 0 };
  }

  async transaction<T>(fn: (tx: Tx) => Promise<T>, options: TransactionOptions = {}): Promise<T> {
    return inTransaction(this.writers, this.health, 'BEGIN', async (client) => {
      // the commit returns before its WAL record is flushed (lost only if the database server crashes)
      if (options.durable === false) await query(client, this.health, 'SET LOCAL synchronous_commit = off', []);
      return fn({
        ...executor(client, this.health),
        lock: async (key) => {
          await query(client, this.health, 'SELECT pg_advisory_xact_lock(?)', [lockId(key)]);
        },
      });
    });
  }

  /** A REPEATABLE READ, READ ONLY transaction on a reading client: one snapshot for all of `fn`. */
  snapshot<T>(fn: (db: SqlExecutor) => Promise<T>): Promise<T> {
    return inTransaction(this.readers, this.health, 'BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY', (client) =>
      fn({ ...executor(client, this.health), run: snapshotRun }),
    );
  }

  /** Read at scrape time: the pools' clients as `pg` counts them, and the errors so far. */
  stats(): StorageStats {
    const of = (pool: string, p: pg.Pool) => ({
      pool,
      total: p.totalCount,
      idle: p.idleCount,
      waiting: p.waitingCount,
    });
    return {
      pools: [of('writers', this.writers), of('readers', this.readers)],
      errors: { ...this.health.faults.counts },
    };
  }

  async close(): Promise<void> {
    await Promise.all([this.writers.end(), this.readers.end()]);
  }
}

/** A database URL without its password, for messages. */
export function redacted(url: string): string {
  return url.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:***@');
}
