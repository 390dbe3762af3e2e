import type { FaultClass } from './faults.js';

/**
 * The storage interface: a small SQL executor with transactions and locks. Everything above it
 * (resource store, history, search) writes portable SQL with `?` placeholders once; the two backends
 * differ only in how they run it. SQL uses only what SQLite ≥ 3.35 and PostgreSQL ≥ 12 share
 * (ON CONFLICT upserts, RETURNING, window functions).
 */
export type SqlValue = string | number | null;
export type Row = Record<string, unknown>;

export interface SqlExecutor {
  all<T extends object = Row>(sql: string, params?: readonly SqlValue[]): Promise<T[]>;
  get<T extends object = Row>(sql: string, params?: readonly SqlValue[]): Promise<T | undefined>;
  run(sql: string, params?: readonly SqlValue[]): Promise<{ changes: number }>;
}

export interface Tx extends SqlExecutor {
  /**
   * Serialises writers on a key until the transaction ends (PostgreSQL: an advisory transaction lock,
   * across processes; SQLite: already serialised by the one write lock of BEGIN IMMEDIATE).
   */
  lock(key: string): Promise<void>;
}

/** What a backend tells `/metrics`, read at scrape time. */
export interface StorageStats {
  /** Connection pools (PostgreSQL): clients open, of them idle, and requests waiting for one. */
  pools: { pool: string; total: number; idle: number; waiting: number }[];
  /** The database's errors by class (faults.ts). */
  errors: Record<FaultClass, number>;
}

export interface TransactionOptions {
  /** Wait for the commit to be on disk before answering (default true). */
  durable?: boolean;
}

export interface Storage extends SqlExecutor {
  readonly kind: 'sqlite' | 'postgres';
  /** Pool use and error counts, for the metrics (a test double may have none). */
  stats?(): StorageStats;
  /**
   * Runs `fn` in one transaction: all of it commits, or (on any throw) none of it does. With
   * `durable: false` the caller is answered once the commit is visible to every connection, without
   * waiting for it to reach the disk: for records whose loss in a power cut costs nothing (a DPoP jti).
   */
  transaction<T>(fn: (tx: Tx) => Promise<T>, options?: TransactionOptions): Promise<T>;
  /**
   * Runs `fn` over one consistent picture of the committed data, read-only, on a connection of its
   * own: a long reader (a registry report) sees no write half done and holds no lock a writer waits for.
   */
  snapshot<T>(fn: (db: SqlExecutor) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/** The `run` of a snapshot's executor: a snapshot reads only. */
export async function snapshotRun(): Promise<never> {
  throw new Error('a snapshot only reads');
}

/** `?, ?, ?` for a list of bound values (an SQL IN list). */
export function placeholders(values: readonly unknown[]): string {
  return values.map(() => '?').join(', ');
}

/** A stable 63-bit-safe hash of a lock key, for PostgreSQL advisory locks. */
export function lockId(key: string): number {
  let h1 = 0x811c9dc5;
  let h2 = 0x01000193;
  for (let i = 0; i < key.length; i++) {
    const c = key.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 0x01000193) >>> 0;
    h2 = Math.imul(h2 ^ c, 0x5bd1e995) >>> 0;
  }
  // 21 bits of h2 and 32 of h1: a safe integer
  return (h2 & 0x1fffff) * 0x100000000 + h1;
}
