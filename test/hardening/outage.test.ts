import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Lease } from '../../src/storage/lease.js';
import { PostgresStorage } from '../../src/storage/postgres.js';
import { startForlop, type ForlopProcess } from '../support/forlop-process.js';
import { answersDuring, badAnswers, restartDatabase, type Restart } from '../support/outage.js';
import { createPgCluster, type PgCluster } from '../support/pg-cluster.js';
import {
  BUNDLE_SYSTEM,
  brokenBundles,
  lostWrites,
  patient,
  startWriteLoad,
  type LoadRecord,
} from '../support/write-load.js';

/**
 * PostgreSQL restarts (issue 15): a cluster of this file's own is stopped and started under a
 * write load while a Forløp node (`forlop serve`, its own process) serves. The node must stay the
 * same process, answer 503 + Retry-After + a `transient` OperationOutcome while the database is away
 * (never 500, never a dropped connection), serve again within 2 s of its return, and keep every
 * write it acknowledged, exactly; a transaction Bundle is whole or absent.
 */
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let cluster: PgCluster;
let node: ForlopProcess;
let base: string;
let record: LoadRecord;
const restarts: Restart[] = [];

beforeAll(async () => {
  cluster = await createPgCluster();
  // the deadline evaluation every second, so that runs fall into the outages
  node = await startForlop({
    DATABASE_URL: cluster.url,
    LOG_REQUESTS: 'false',
    DEADLINE_CRON: '* * * * * *',
    REGISTRY_CRON: '',
  });
  base = `${node.url}/fhir`;
});

afterAll(async () => {
  await node?.stop();
  await cluster?.destroy();
});

async function count(query: string): Promise<number> {
  const res = await fetch(`${base}/${query}${query.includes('?') ? '&' : '?'}_summary=count`);
  expect(res.status).toBe(200);
  return ((await res.json()) as { total: number }).total;
}

/**
 * Resolves once a transaction of the node's has been open for 300 ms: the Bundle's (the deadline
 * evaluation's last milliseconds). A fixed wait would let a fast node answer 200 before the stop.
 */
async function bundleTransactionOpen(): Promise<void> {
  const admin = new pg.Client({ connectionString: cluster.url });
  await admin.connect();
  try {
    const open = `SELECT count(*)::int AS n FROM pg_stat_activity
      WHERE pid <> pg_backend_pid() AND xact_start < now() - interval '300 milliseconds'`;
    await expect
      .poll(async () => (await admin.query<{ n: number }>(open)).rows[0].n, { timeout: 20_000, interval: 20 })
      .toBeGreaterThan(0);
  } finally {
    await admin.end();
  }
}

describe('a PostgreSQL restart under a write load', () => {
  it('is survived: 503 + Retry-After while away, served again within 2 s, no acknowledged write lost', async () => {
    const load = startWriteLoad(base, { writers: 4, transactions: 2 });
    await sleep(1500);
    restarts.push(await restartDatabase(cluster, base, load.record, { mode: 'fast', downMs: 1000 }));
    await sleep(1000);
    restarts.push(await restartDatabase(cluster, base, load.record, { mode: 'immediate', downMs: 1000 }));
    await sleep(1000);
    record = await load.stop();

    expect(node.exit()).toBeUndefined();
    for (const r of restarts) expect(r.recoveryMs).toBeLessThan(2000);
    const during = answersDuring(record, restarts);
    expect(during.filter((a) => a.status === 503).length).toBeGreaterThan(0);
    expect(badAnswers(record.answers)).toEqual([]);
    // the writes went on before, between and after the restarts
    expect(record.acked.size).toBeGreaterThan(20);
    expect(await lostWrites(base, record)).toEqual([]);
    expect(await brokenBundles(base, record)).toEqual([]);
    expect([...record.bundles.values()].filter(Boolean).length).toBeGreaterThan(0);
  });

  it('a transaction Bundle cut off by the restart is answered 503 and left wholly absent', async () => {
    const key = `cut-${randomUUID()}`;
    const entry = Array.from({ length: 2000 }, () => ({
      fullUrl: `urn:uuid:${randomUUID()}`,
      resource: patient('cut', [{ system: BUNDLE_SYSTEM, value: key }]),
      request: { method: 'POST', url: 'Patient' },
    }));
    const sent = fetch(base, {
      method: 'POST',
      headers: { 'Content-Type': 'application/fhir+json' },
      body: JSON.stringify({ resourceType: 'Bundle', type: 'transaction', entry }),
    });
    // awaited below: a dropped connection must fail the test there, not as an unhandled rejection
    sent.catch(() => undefined);
    await bundleTransactionOpen();
    await cluster.stop('fast');
    const res = await sent;
    await cluster.start();
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('1');
    const outcome = (await res.json()) as { resourceType: string; issue: { code: string }[] };
    expect(outcome.resourceType).toBe('OperationOutcome');
    expect(outcome.issue[0].code).toBe('transient');
    await expect.poll(() => fetch(`${node.url}/healthz`).then((r) => r.status), { timeout: 2000 }).toBe(200);
    expect(await count(`Patient?identifier=${encodeURIComponent(`${BUNDLE_SYSTEM}|${key}`)}`)).toBe(0);
  });

  it('keeps the audit events of the refused requests and writes them once the database is back', async () => {
    const refusedCreates = record.answers.filter((a) => a.kind === 'create' && a.status === 503).length;
    expect(refusedCreates).toBeGreaterThan(0);
    // each refused create was audited as a failure (outcome 8) through the batched log; at least once
    await expect
      .poll(() => count('AuditEvent?outcome=8&subtype=create'), { timeout: 20_000, interval: 500 })
      .toBeGreaterThanOrEqual(refusedCreates);
  });

  it('the scheduled deadline evaluation logs its failed runs and runs again after the outage', async () => {
    const lastBack = restarts[restarts.length - 1].backAt;
    await expect
      .poll(
        () => node.logs().some((l) => l.msg === 'deadlines evaluated' && Date.parse(String(l.time)) > lastBack + 1000),
        { timeout: 5000 },
      )
      .toBe(true);
    const failed = node.logs().filter((l) => l.msg === 'scheduled job failed; it runs again at its next time');
    expect(failed.length).toBeGreaterThan(0);
    expect(failed[0]).toMatchObject({ level: 'error', job: 'deadlines' });
    expect(node.output()).not.toMatch(/Unhandled|uncaught|Emitted 'error' event/i);
    expect(node.exit()).toBeUndefined();
  });
});

describe('the registry lease across a restart', () => {
  it('is renewed after the outage and still held; one asked for during it is given once it is back', async () => {
    const storage = await PostgresStorage.connect(cluster.url, { schema: `lease_${randomUUID().slice(0, 8)}` });
    try {
      const lease = await Lease.acquire(storage, 'registry:outage-test', { ttlMs: 6000 });
      await cluster.stop('fast');
      const waiting = Lease.acquire(storage, 'registry:asked-during-outage', { waitMs: 20_000, pollMs: 100 });
      await sleep(2500); // a renewal (every ttl/3 = 2 s) fails meanwhile
      await cluster.start();
      const other = await waiting;
      await sleep(2500); // and the next one succeeds
      const row = await storage.get<{ expires: number }>('SELECT expires FROM leases WHERE name = ?', [
        'registry:outage-test',
      ]);
      expect(Number(row?.expires)).toBeGreaterThan(Date.now() + 2000);
      await storage.transaction((tx) => lease.hold(tx));
      await lease.release();
      await other.release();
      expect(await storage.all('SELECT name FROM leases')).toEqual([]);
    } finally {
      await storage.close();
    }
  });
});
