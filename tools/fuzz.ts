/**
 * The long robustness run: `npm run fuzz -- [--count 100000] [--seed 20261123] [--database sqlite|postgres]`
 * (PostgreSQL: a new schema in TEST_DATABASE_URL).
 * Sends malformed requests (test/fuzz/requests.ts) to a server with authentication and audit on, and
 * prints the answers by status and every wrong one; exits 1 if any request was answered wrongly or
 * the stored data changed.
 */
import { BACKENDS } from '../test/support/backends.js';
import { runFuzz } from '../test/fuzz/run.js';

const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
};
const count = Number(arg('count', '100000'));
const seed = Number(arg('seed', '20261123'));
// a fresh database (a temporary SQLite file, or a new schema in TEST_DATABASE_URL), removed afterwards
const backend = BACKENDS.find((b) => b.name === arg('database', 'sqlite'));
if (!backend) throw new Error('--database is sqlite or postgres');
const { storage, url, cleanup } = await backend.open();
try {
  const report = await runFuzz(storage, seed, count, (done) => process.stderr.write(`\r${done} / ${count}`));
  process.stderr.write('\n');
  console.log(
    `fuzz: ${report.requests} requests, seed ${seed}, ${report.seconds.toFixed(1)} s (${Math.round(report.requests / report.seconds)}/s), ${url.startsWith('sqlite') ? 'SQLite' : 'PostgreSQL'}`,
  );
  console.log(
    `answers by status: ${Object.entries(report.byStatus)
      .map(([s, n]) => `${s}: ${n}`)
      .join(', ')}`,
  );
  console.log(`stored data unchanged: ${report.dataUnchanged ? 'yes' : 'NO'}`);
  console.log(`wrong answers: ${report.failures.length}`);
  for (const f of report.failures.slice(0, 50)) console.log(`  ${f.status} ${f.request}: ${f.why}`);
  process.exitCode = report.failures.length || !report.dataUnchanged ? 1 : 0;
} finally {
  await cleanup();
}
