/**
 * `npm run chaos [-- --restarts N]`: the outage test's longer mode (issue 15). A throw-away
 * PostgreSQL cluster is restarted N times (default 20; fast and immediate stops in turn, down for
 * 0.5–3 s) under a write load while one Forløp node (`forlop serve`) serves. Prints the restarts
 * survived, the recovery time (database back → first acknowledged write) p50 and max, the status
 * codes seen during the outages, and the acknowledged writes lost (must be 0). Exits 1 on any breach.
 */
import { startForlop } from '../support/forlop-process.js';
import {
  answersDuring,
  badAnswers,
  percentile,
  restartDatabase,
  statusCounts,
  type Restart,
} from '../support/outage.js';
import { createPgCluster } from '../support/pg-cluster.js';
import { brokenBundles, lostWrites, startWriteLoad } from '../support/write-load.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function restartsWanted(argv: string[]): number {
  const i = argv.indexOf('--restarts');
  const n = Number(i >= 0 ? argv[i + 1] : (process.env.CHAOS_RESTARTS ?? 20));
  if (!Number.isInteger(n) || n < 1) throw new Error(`--restarts must be a positive integer, not '${argv[i + 1]}'`);
  return n;
}

async function main(): Promise<number> {
  const wanted = restartsWanted(process.argv.slice(2));
  const cluster = await createPgCluster();
  const node = await startForlop({
    DATABASE_URL: cluster.url,
    LOG_REQUESTS: 'false',
    DEADLINE_CRON: '*/5 * * * * *',
    REGISTRY_CRON: '',
  });
  const base = `${node.url}/fhir`;
  const restarts: Restart[] = [];
  try {
    const load = startWriteLoad(base, { writers: 4, transactions: 2 });
    for (let i = 0; i < wanted && !node.exit(); i++) {
      await sleep(500 + Math.random() * 1000);
      const r = await restartDatabase(cluster, base, load.record, {
        mode: i % 2 ? 'immediate' : 'fast',
        downMs: 500 + Math.random() * 2500,
      });
      restarts.push(r);
      process.stdout.write(
        `restart ${i + 1}/${wanted} (${r.mode}, down ${r.backAt - r.stoppedAt} ms): ` +
          `served again ${r.recoveryMs} ms after the database\n`,
      );
    }
    await sleep(1000);
    const record = await load.stop();
    const survived = node.exit() ? 0 : restarts.length;
    const lost = await lostWrites(base, record);
    const broken = await brokenBundles(base, record);
    const bad = badAnswers(record.answers);
    const recovery = restarts.map((r) => r.recoveryMs);
    const sameProcess = node.exit() ? `no, it exited ${JSON.stringify(node.exit())}` : `yes, pid ${node.pid}`;
    const ackedBundles = [...record.bundles.values()].filter(Boolean).length;
    const lines = [
      `restarts survived: ${survived} of ${wanted} (same process: ${sameProcess})`,
      `recovery after the database is back: p50 ${percentile(recovery, 50)} ms, max ${Math.max(...recovery)} ms`,
      `status codes during outages: ${JSON.stringify(statusCounts(answersDuring(record, restarts)))}`,
      `status codes in all: ${JSON.stringify(statusCounts(record.answers))} (${record.answers.length} requests)`,
      `answers other than 2xx or 503 + Retry-After + transient OperationOutcome: ${bad.length}`,
      `acknowledged writes: ${record.acked.size} creates, ${ackedBundles} transaction Bundles`,
      `acknowledged writes lost: ${lost.length}`,
      `transaction Bundles stored in part: ${broken.length}`,
    ];
    process.stdout.write(`\n${lines.join('\n')}\n`);
    for (const b of bad.slice(0, 5)) process.stdout.write(`  bad answer: ${JSON.stringify(b)}\n`);
    return survived === wanted &&
      lost.length === 0 &&
      broken.length === 0 &&
      bad.length === 0 &&
      Math.max(...recovery) < 2000
      ? 0
      : 1;
  } finally {
    await node.stop();
    await cluster.destroy();
  }
}

main().then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`chaos: ${(err as Error)?.stack ?? err}\n`);
    process.exit(1);
  },
);
