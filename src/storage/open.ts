import { PostgresStorage } from './postgres.js';
import { SqliteStorage } from './sqlite.js';
import type { Storage } from './types.js';

/**
 * Opens the backend named by a database URL: `postgres://…` / `postgresql://…` for PostgreSQL,
 * `sqlite:path/to/file.db` (or a bare path) for the embedded default.
 */
export async function openStorage(url: string, options: { schema?: string } = {}): Promise<Storage> {
  if (/^postgres(ql)?:\/\//.test(url)) return PostgresStorage.connect(url, options);
  const file = url.replace(/^sqlite:(\/\/)?/, '');
  return new SqliteStorage(file);
}
