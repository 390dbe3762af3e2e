import { PostgresStorage, type StorageLog } from './postgres.js';
import { SqliteStorage, type SqliteOptions } from './sqlite.js';
import type { Storage } from './types.js';

export interface OpenOptions extends SqliteOptions {
  /** PostgreSQL: a schema of its own (tests). */
  schema?: string;
  /** Where the backend reports the database going away and coming back. */
  log?: StorageLog;
}

/** `postgres://…` or `postgresql://…`: the PostgreSQL backend. */
export const POSTGRES_URL = /^postgres(ql)?:\/\//;

/** The file of a `sqlite:path/to/file.db` URL (or a bare path). */
export function sqliteFile(url: string): string {
  return url.replace(/^sqlite:(\/\/)?/, '');
}

/**
 * Opens the backend named by a database URL: `postgres://…` / `postgresql://…` for PostgreSQL,
 * `sqlite:path/to/file.db` (or a bare path) for the embedded default.
 */
export async function openStorage(url: string, options: OpenOptions = {}): Promise<Storage> {
  if (POSTGRES_URL.test(url)) return PostgresStorage.connect(url, options);
  const file = sqliteFile(url);
  // an empty name would be a private temporary database per connection: the reader would see no tables
  if (!file.trim()) throw new Error(`The database URL '${url}' names no file: use sqlite:<file> or postgres://…`);
  return new SqliteStorage(file, options);
}
