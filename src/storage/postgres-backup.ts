import { execFile } from 'node:child_process';
import { existsSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/**
 * pg_dump on PATH, else the newest under /usr/lib/postgresql/<major>/bin (Debian, where the client
 * binaries of every installed major live). Use a pg_dump at least as new as the server.
 */
export function findPgTool(name: 'pg_dump' | 'pg_restore'): string {
  for (const dir of (process.env.PATH ?? '').split(':')) {
    if (dir && existsSync(join(dir, name))) return join(dir, name);
  }
  const root = '/usr/lib/postgresql';
  const majors = existsSync(root) ? readdirSync(root).filter((d) => /^\d+$/.test(d)) : [];
  majors.sort((a, b) => Number(b) - Number(a));
  for (const major of majors) if (existsSync(join(root, major, 'bin', name))) return join(root, major, 'bin', name);
  throw new Error(`${name} was not found on PATH nor under ${root}/*/bin: install the PostgreSQL client tools`);
}

/** The schema a `?options=-c search_path=…` in the URL confines the server to, if any (tests, shared clusters). */
export function schemaOfUrl(url: string): string | undefined {
  const options = new URL(url).searchParams.get('options') ?? '';
  return /search_path=([^\s,]+)/.exec(options)?.[1];
}

/** The pg_dump arguments of a backup of the database (or the one schema) of `url` into `file`. */
export function pgDumpArgs(url: string, file: string): string[] {
  const schema = schemaOfUrl(url);
  return ['--format=custom', `--file=${file}`, ...(schema ? [`--schema=${schema}`] : []), `--dbname=${url}`];
}

/**
 * `pg_dump --format=custom`: it reads in one REPEATABLE READ transaction, so the dump is one
 * consistent snapshot while servers write. Written next to `out` and renamed when pg_dump succeeded,
 * so `out` is never a half dump.
 */
export async function backupPostgres(url: string, out: string): Promise<{ bytes: number; command: string }> {
  if (existsSync(out)) throw new Error(`${out} exists: the backup does not overwrite a file`);
  const partial = `${out}.partial`;
  const pgDump = findPgTool('pg_dump');
  const args = pgDumpArgs(url, partial);
  try {
    await run(pgDump, args, { maxBuffer: 16 * 1024 * 1024 });
  } catch (err) {
    rmSync(partial, { force: true });
    const stderr = (err as { stderr?: string }).stderr?.trim();
    throw new Error(`pg_dump failed: ${hidePassword(stderr || (err as Error).message)}`, { cause: err });
  }
  renameSync(partial, out);
  const shown = hidePassword([pgDump, ...pgDumpArgs(url, out)].join(' '));
  return { bytes: statSync(out).size, command: shown };
}

function hidePassword(text: string): string {
  return text.replace(/\/\/([^:@/\s]*):[^@/\s]*@/g, '//$1:***@');
}
