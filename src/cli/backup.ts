import { loadConfig } from '../config.js';
import { POSTGRES_URL, sqliteFile } from '../storage/open.js';
import { backupPostgres } from '../storage/postgres-backup.js';
import { backupSqlite } from '../storage/sqlite-backup.js';

/**
 * `forlop backup --out FILE`: a consistent backup of the database of DATABASE_URL, taken while
 * servers run on it. SQLite: a checked copy of the database file (`VACUUM INTO`); restore by starting
 * a server on it. PostgreSQL: `pg_dump --format=custom` (of the schema of a `search_path` in the URL,
 * else the database); restore with `pg_restore`.
 */
export async function backupCommand(args: string[]): Promise<number> {
  const outArg = args.indexOf('--out');
  const out = outArg >= 0 ? args[outArg + 1] : undefined;
  if (!out) {
    process.stderr.write('Usage: forlop backup --out FILE  (backs up the database of DATABASE_URL)\n');
    return 2;
  }
  const { databaseUrl } = loadConfig();
  const started = Date.now();
  if (POSTGRES_URL.test(databaseUrl)) {
    const result = await backupPostgres(databaseUrl, out);
    process.stdout.write(`Ran: ${result.command}\n`);
    process.stdout.write(`Backed up PostgreSQL to ${out} (${result.bytes} bytes, ${seconds(started)} s)\n`);
    process.stdout.write(`Restore: pg_restore --no-owner --dbname=postgres://…/<fresh database> ${out}\n`);
    return 0;
  }
  const result = backupSqlite(sqliteFile(databaseUrl), out);
  process.stdout.write(
    `Backed up SQLite to ${out}: ${result.resources} resources, ${result.versions} versions, ` +
      `${result.bytes} bytes, integrity ok (${seconds(started)} s)\n`,
  );
  process.stdout.write(`Restore: start a server with DATABASE_URL=sqlite:<a copy of ${out}>\n`);
  return 0;
}

function seconds(since: number): string {
  return ((Date.now() - since) / 1000).toFixed(1);
}
