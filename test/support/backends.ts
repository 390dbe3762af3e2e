import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { PostgresStorage } from '../../src/storage/postgres.js';
import { SqliteStorage } from '../../src/storage/sqlite.js';
import type { Storage } from '../../src/storage/types.js';

/**
 * The two backends every storage-touching test runs on: the embedded SQLite default (a fresh file)
 * and a real PostgreSQL (a fresh schema in TEST_DATABASE_URL, dropped afterwards).
 */
export const PG_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

export interface Backend {
  name: 'sqlite' | 'postgres';
  /** A fresh database; `url` is its DATABASE_URL, for a second server process on the same data. */
  open(): Promise<{ storage: Storage; url: string; cleanup(): Promise<void> }>;
}

export const BACKENDS: Backend[] = [
  {
    name: 'sqlite',
    async open() {
      const dir = mkdtempSync(join(tmpdir(), 'forlop-test-'));
      const storage = new SqliteStorage(join(dir, 'test.db'));
      return {
        storage,
        url: `sqlite:${join(dir, 'test.db')}`,
        async cleanup() {
          await storage.close();
          rmSync(dir, { recursive: true, force: true });
        },
      };
    },
  },
  {
    name: 'postgres',
    async open() {
      const schema = `t_${randomBytes(6).toString('hex')}`;
      const storage = await PostgresStorage.connect(PG_URL, { schema });
      return {
        storage,
        url: `${PG_URL}?options=${encodeURIComponent(`-c search_path=${schema}`)}`,
        async cleanup() {
          await storage.close();
          await dropSchema(schema);
        },
      };
    },
  },
];

export async function dropSchema(schema: string): Promise<void> {
  const client = new pg.Client({ connectionString: PG_URL });
  await client.connect();
  try {
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  } finally {
    await client.end();
  }
}
