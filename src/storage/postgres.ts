import pg from 'pg';
import { schemaSql } from './schema.js';
import { lockId, snapshotRun, type SqlExecutor, type SqlValue, type Storage, type Tx } from './types.js';

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

function executor(client: pg.PoolClient): SqlExecutor {
  return {
    all: async <R extends object>(sql: string, p: readonly SqlValue[] = []) => (await query<R>(client, sql, p)).rows,
    get: async <R extends object>(sql: string, p: readonly SqlValue[] = []) => (await query<R>(client, sql, p)).rows[0] as R | undefined,
    run: async (sql, p = []) => ({ changes: (await query(client, sql, p)).rowCount ?? 0 }),
  };
}

/** Runs `fn` on a client of `pool` between `begin` and COMMIT (ROLLBACK on any throw); a client whose rollback failed is discarded. */
async function inTransaction<T>(pool: pg.Pool, begin: string, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  let broken = false;
  try {
    await client.query(begin);
    const result = await fn(client);
    await client.query('COMMIT');
    return result;
  } catch (err) {
    try {
      await client.query('ROLLBACK');
    } catch {
      broken = true;
    }
    throw err;
  } finally {
    client.release(broken);
  }
}

async function query<T extends object>(q: Queryable, sql: string, params: readonly SqlValue[]): Promise<pg.QueryResult<T>> {
  return q.query<T>(toPg(sql), params as SqlValue[]);
}

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
  ) {}

  static async connect(url: string, options: { schema?: string; poolSize?: number; readPoolSize?: number } = {}): Promise<PostgresStorage> {
    const pool = (max: number) => {
      const p = new pg.Pool({ connectionString: url, max, ...(options.schema ? { options: `-c search_path=${options.schema}` } : {}) });
      // an idle client's error (e.g. the server restarting) must not crash the process
      p.on('error', () => undefined);
      return p;
    };
    const size = options.poolSize ?? 10;
    const storage = new PostgresStorage(pool(size), pool(options.readPoolSize ?? size));
    if (options.schema) await storage.writers.query(`CREATE SCHEMA IF NOT EXISTS "${options.schema.replace(/"/g, '')}"`);
    await storage.transaction(async (tx) => {
      await tx.lock('forlop:migrate');
      for (const sql of schemaSql('postgres')) await tx.run(sql);
    });
    return storage;
  }

  async all<T extends object>(sql: string, params: readonly SqlValue[] = []): Promise<T[]> {
    return (await query<T>(this.readers, sql, params)).rows;
  }
  async get<T extends object>(sql: string, params: readonly SqlValue[] = []): Promise<T | undefined> {
    return (await query<T>(this.readers, sql, params)).rows[0] as T | undefined;
  }
  /** A statement that may write (and so wait on a writer's lock) runs on the writers' pool. */
  async run(sql: string, params: readonly SqlValue[] = []): Promise<{ changes: number }> {
    return { changes: (await query(this.writers, sql, params)).rowCount ?? 0 };
  }

  async transaction<T>(fn: (tx: Tx) => Promise<T>): Promise<T> {
    return inTransaction(this.writers, 'BEGIN', (client) =>
      fn({
        ...executor(client),
        lock: async (key) => {
          await client.query('SELECT pg_advisory_xact_lock($1)', [lockId(key)]);
        },
      }),
    );
  }

  /** A REPEATABLE READ, READ ONLY transaction on a reading client: one snapshot for all of `fn`. */
  snapshot<T>(fn: (db: SqlExecutor) => Promise<T>): Promise<T> {
    return inTransaction(this.readers, 'BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY', (client) =>
      fn({ ...executor(client), run: snapshotRun }),
    );
  }

  async close(): Promise<void> {
    await Promise.all([this.writers.end(), this.readers.end()]);
  }
}
