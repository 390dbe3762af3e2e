import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { schemaSql } from './schema.js';
import type { Row, SqlValue, Storage, Tx } from './types.js';
import { Mutex } from './mutex.js';

/**
 * The embedded backend: SQLite through better-sqlite3, WAL mode, synchronous=FULL so a commit is on disk
 * before the response is sent. Two connections: one writer (transactions, serialised by a mutex in this
 * process and by BEGIN IMMEDIATE across processes) and one reader that sees only committed data.
 */
export class SqliteStorage implements Storage {
  readonly kind = 'sqlite' as const;
  private readonly writer: Database.Database;
  private readonly reader: Database.Database;
  private readonly writeLock = new Mutex();
  private readonly cache = new Map<string, Database.Statement>();
  private readonly readCache = new Map<string, Database.Statement>();

  constructor(file: string) {
    mkdirSync(dirname(file), { recursive: true });
    this.writer = open(file);
    for (const sql of schemaSql('sqlite')) this.writer.exec(sql);
    this.reader = open(file);
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
    return this.stmt(this.reader, this.readCache, sql).all(...params) as T[];
  }
  async get<T extends object>(sql: string, params: readonly SqlValue[] = []): Promise<T | undefined> {
    return this.stmt(this.reader, this.readCache, sql).get(...params) as T | undefined;
  }
  async run(sql: string, params: readonly SqlValue[] = []): Promise<{ changes: number }> {
    return this.transaction((tx) => tx.run(sql, params));
  }

  async transaction<T>(fn: (tx: Tx) => Promise<T>): Promise<T> {
    return this.writeLock.runExclusive(async () => {
      const db = this.writer;
      const stmt = (sql: string) => this.stmt(db, this.cache, sql);
      const tx: Tx = {
        all: async <R extends object>(sql: string, p: readonly SqlValue[] = []) => stmt(sql).all(...p) as R[],
        get: async <R extends object>(sql: string, p: readonly SqlValue[] = []) => stmt(sql).get(...p) as R | undefined,
        run: async (sql, p = []) => ({ changes: stmt(sql).run(...p).changes }),
        lock: async () => undefined,
      };
      db.exec('BEGIN IMMEDIATE');
      try {
        const result = await fn(tx);
        db.exec('COMMIT');
        return result;
      } catch (err) {
        if (db.inTransaction) db.exec('ROLLBACK');
        throw err;
      }
    });
  }

  async close(): Promise<void> {
    await this.writeLock.runExclusive(async () => {
      this.reader.close();
      this.writer.close();
    });
  }
}

function open(file: string): Database.Database {
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.pragma('busy_timeout = 10000');
  db.pragma('foreign_keys = ON');
  db.pragma('cache_size = -65536');
  return db;
}
