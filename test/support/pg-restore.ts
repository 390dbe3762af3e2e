import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import pg from 'pg';
import { findPgTool } from '../../src/storage/postgres-backup.js';
import { PG_URL } from './backends.js';

const run = promisify(execFile);

/** A fresh database of the test's own in the shared cluster, for restoring a dump into. */
export interface RestoredDatabase {
  /** postgres://…/<the new database> */
  url: string;
  drop(): Promise<void>;
}

async function admin<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: PG_URL });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** `pg_restore --no-owner` of a custom-format dump into a new database of the shared cluster. */
export async function restoreIntoNewDatabase(dump: string): Promise<RestoredDatabase> {
  const name = `forlop_restore_${randomBytes(5).toString('hex')}`;
  await admin((c) => c.query(`CREATE DATABASE "${name}"`));
  const url = new URL(PG_URL);
  url.pathname = `/${name}`;
  const restored = {
    url: url.toString(),
    async drop() {
      await admin((c) => c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`));
    },
  };
  try {
    await run(findPgTool('pg_restore'), ['--no-owner', '--exit-on-error', `--dbname=${restored.url}`, dump]);
  } catch (err) {
    await restored.drop();
    throw err;
  }
  return restored;
}
