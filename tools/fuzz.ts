/**
 * The long robustness run: `npm run fuzz -- [--count 100000] [--seed 20261123] [--database sqlite|postgres]`.
 * Sends malformed requests (test/fuzz/requests.ts) to a server with authentication and audit on, and
 * prints the answers by status and every wrong one; exits 1 if any request was answered wrongly or
 * the stored data changed.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStorage } from '../src/storage/open.js';
import { runFuzz } from '../test/fuzz/run.js';

const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
};
const count = Number(arg('count', '100000'));
const seed = Number(arg('seed', '20261123'));
const dir = mkdtempSync(join(tmpdir(), 'forlop-fuzz-'));
const url = arg('database', 'sqlite') === 'postgres' ? (process.env.FUZZ_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test') : `sqlite:${join(dir, 'fuzz.db')}`;
const storage = await openStorage(url);
try {
  const report = await runFuzz(storage, seed, count, (done) => process.stderr.write(`\r${done} / ${count}`));
  process.stderr.write('\n');
  console.log(`fuzz: ${report.requests} requests, seed ${seed}, ${report.seconds.toFixed(1)} s (${Math.round(report.requests / report.seconds)}/s), ${url.startsWith('sqlite') ? 'SQLite' : 'PostgreSQL'}`);
  console.log(`answers by status: ${Object.entries(report.byStatus).map(([s, n]) => `${s}: ${n}`).join(', ')}`);
  console.log(`stored data unchanged: ${report.dataUnchanged ? 'yes' : 'NO'}`);
  console.log(`wrong answers: ${report.failures.length}`);
  for (const f of report.failures.slice(0, 50)) console.log(`  ${f.status} ${f.request}: ${f.why}`);
  process.exitCode = report.failures.length || !report.dataUnchanged ? 1 : 0;
} finally {
  await storage.close();
  rmSync(dir, { recursive: true, force: true });
}
