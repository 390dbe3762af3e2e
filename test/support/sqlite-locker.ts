import { spawn } from 'node:child_process';
import { join } from 'node:path';

/** Another process holding a lock on an SQLite file until `release`. */
export interface SqliteLocker {
  release(): Promise<void>;
}

/**
 * Starts a second process that opens `file` with better-sqlite3 and holds a lock on it:
 * `write` — an open write transaction (BEGIN IMMEDIATE: readers go on, writers wait, as behind a
 * stuck `sqlite3` shell); `exclusive` — locking_mode=EXCLUSIVE with a write done, so nobody else
 * may even read (as a tool that took the file for itself).
 */
export async function lockSqlite(file: string, kind: 'write' | 'exclusive'): Promise<SqliteLocker> {
  const take =
    kind === 'write'
      ? `db.exec('BEGIN IMMEDIATE');`
      : `db.pragma('locking_mode = EXCLUSIVE'); db.exec('BEGIN EXCLUSIVE');
         db.exec('CREATE TABLE IF NOT EXISTS locker (x)'); db.exec('COMMIT'); db.exec('BEGIN EXCLUSIVE');`;
  const script = `
    const Database = require('better-sqlite3');
    const db = new Database(${JSON.stringify(file)});
    db.pragma('journal_mode = WAL');
    ${take}
    process.stdout.write('locked\\n');
    process.stdin.on('data', () => { db.close(); process.exit(0); });
  `;
  const child = spawn(process.execPath, ['--input-type=commonjs', '-e', script], {
    cwd: join(import.meta.dirname, '../..'),
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  await new Promise<void>((resolve, reject) => {
    child.stdout.once('data', () => resolve());
    child.once('exit', (code) => reject(new Error(`the locking process exited (${code})`)));
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    async release() {
      child.stdin.write('release\n');
      await exited;
    },
  };
}
