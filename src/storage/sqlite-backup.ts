import Database from 'better-sqlite3';
import { closeSync, existsSync, fsyncSync, openSync, renameSync, rmSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { SQLITE_BUSY_TIMEOUT_MS } from './sqlite.js';

export interface SqliteBackupResult {
  /** Rows in `resources` (current versions) and `history` (every version) in the backup. */
  resources: number;
  versions: number;
  bytes: number;
}

/**
 * A hot backup of a SQLite database while servers write to it: `VACUUM INTO` reads in one WAL read
 * transaction, so the copy is one consistent snapshot (every commit before it began, none half) and
 * no writer waits. It is written next to `out` and renamed only once complete, checked and on disk,
 * so `out` is never a half-written file. better-sqlite3's page-by-page backup would restart each time
 * another process writes, which under steady writes may never finish.
 */
export function backupSqlite(file: string, out: string): SqliteBackupResult {
  if (existsSync(out)) throw new Error(`${out} exists: the backup does not overwrite a file`);
  if (!existsSync(file)) throw new Error(`There is no SQLite database at ${file}`);
  const partial = `${out}.partial`;
  rmSync(partial, { force: true });
  const source = new Database(file, { readonly: true, fileMustExist: true, timeout: SQLITE_BUSY_TIMEOUT_MS });
  try {
    source.prepare('VACUUM INTO ?').run(partial);
  } catch (err) {
    rmSync(partial, { force: true });
    throw err;
  } finally {
    source.close();
  }
  try {
    const result = verifyBackup(partial);
    // VACUUM INTO does not fsync its output: the backup must be on disk before it is named as done
    const fd = openSync(partial, 'r+');
    fsyncSync(fd);
    closeSync(fd);
    renameSync(partial, out);
    syncDir(dirname(out));
    return { ...result, bytes: statSync(out).size };
  } catch (err) {
    rmSync(partial, { force: true });
    throw err;
  }
}

/** Opens a backup on its own and checks it: SQLite's integrity check, and what it holds. */
export function verifyBackup(file: string): Omit<SqliteBackupResult, 'bytes'> {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const check = db.pragma('integrity_check', { simple: true });
    if (check !== 'ok') throw new Error(`the backup ${file} fails SQLite's integrity check: ${String(check)}`);
    const count = (table: string) => (db.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;
    return { resources: count('resources'), versions: count('history') };
  } finally {
    db.close();
  }
}

/** The rename itself is durable only once the folder is on disk. */
function syncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
