import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManualClock } from '../src/fhir/clock.js';
import { buildApp } from '../src/http/app.js';
import { silentLog } from '../src/http/log.js';
import { evaluateAll } from '../src/pathways/evaluate.js';
import { loadPathways } from '../src/pathways/loader.js';
import { SqliteStorage } from '../src/storage/sqlite.js';
import { loadTerminology } from '../src/terminology/loader.js';
import { fnrFor } from '../test/support/norwegian-ids.js';
import { table } from './harness.js';

/**
 * Issue 6's figures, on the embedded backend: `$apply` over HTTP (one pathway per new patient, as NPR
 * allows one open pathway each; 8 requests in flight), and the scheduled deadline evaluation over N
 * open CarePlans (each with its ~18 milestone Tasks), timed after the clock has moved so that
 * statuses change and breaches are recorded. The reference in the same run is a read of one Task
 * per CarePlan (the least an evaluation must do).
 */
const PATHWAYS = ['D01', 'D06', 'D07', 'D09', 'D10', 'D11', 'D12'];

export async function pathwaysBench(sizes: number[]): Promise<string> {
  const rows: (string | number)[][] = [];
  for (const n of sizes) {
    const dir = mkdtempSync(join(tmpdir(), 'forlop-bench-pathways-'));
    const storage = new SqliteStorage(join(dir, 'bench.db'));
    const clock = new ManualClock(new Date('2026-03-02T08:00:00Z'));
    const built = buildApp({ storage, baseUrl: 'http://127.0.0.1/fhir', clock, log: silentLog });
    await built.ready;
    await loadTerminology(built.services);
    await loadPathways(built.services);
    const server = built.app.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/fhir`;
    try {
      // patients in transactions of 500
      for (let i = 0; i < n; i += 500) {
        const entry = Array.from({ length: Math.min(500, n - i) }, (_, k) => {
          const id = `p${i + k}`;
          return { resource: { resourceType: 'Patient', id, name: [{ family: 'Bench' }], birthDate: '2010-01-01', identifier: [{ system: 'urn:oid:2.16.578.1.12.4.1.4.1', value: fnrFor(i + k) }] }, request: { method: 'PUT', url: `Patient/${id}` } };
        });
        const res = await fetch(base, { method: 'POST', headers: { 'Content-Type': 'application/fhir+json', Prefer: 'return=minimal' }, body: JSON.stringify({ resourceType: 'Bundle', type: 'transaction', entry }) });
        if (res.status !== 200) throw new Error(`seeding patients: ${res.status} ${await res.text()}`);
      }
      let next = 0;
      const latencies: number[] = [];
      const started = performance.now();
      await Promise.all(
        Array.from({ length: 8 }, async () => {
          for (let i = next++; i < n; i = next++) {
            const t0 = performance.now();
            const res = await fetch(`${base}/PlanDefinition/pathway-${PATHWAYS[i % PATHWAYS.length]}/$apply?subject=Patient/p${i}&start=2026-03-02`);
            if (res.status !== 200) throw new Error(`$apply: ${res.status} ${await res.text()}`);
            await res.arrayBuffer();
            latencies.push(performance.now() - t0);
          }
        }),
      );
      const applySeconds = (performance.now() - started) / 1000;
      latencies.sort((a, b) => a - b);
      clock.set(new Date('2026-03-20T08:00:00Z')); // first attendances overdue, others due soon
      const t1 = performance.now();
      const result = await evaluateAll(built.services);
      const evalSeconds = (performance.now() - t1) / 1000;
      const t2 = performance.now();
      const ids = await storage.all<{ id: string }>(`SELECT id FROM resources WHERE type = 'CarePlan' AND deleted = 0`);
      for (const { id } of ids) await storage.get(`SELECT content FROM resources WHERE type = 'CarePlan' AND id = ?`, [id]);
      const readSeconds = (performance.now() - t2) / 1000;
      rows.push([
        n,
        Math.round(n / applySeconds),
        latencies[Math.floor(latencies.length / 2)].toFixed(1),
        latencies[Math.floor(latencies.length * 0.99)].toFixed(1),
        evalSeconds.toFixed(1),
        ((evalSeconds * 1000) / n).toFixed(2),
        result.updated,
        result.breaches,
        readSeconds.toFixed(2),
      ]);
    } finally {
      server.close();
      await storage.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }
  return [
    '### Pathways (embedded SQLite, in one process; N CarePlans, each ~18 Tasks)',
    '',
    '`$apply` over HTTP with 8 in flight (a new patient each). The evaluation moves the clock 18 days on, then evaluates every open CarePlan (each in its own transaction): Tasks whose `businessStatus` changed and DetectedIssues created. The reference is reading each CarePlan once from the database.',
    '',
    table(['N', '$apply/s', 'p50 ms', 'p99 ms', 'evaluation s', 'ms per CarePlan', 'Tasks updated', 'breaches', 'reference: read each CarePlan, s'], rows),
  ].join('\n');
}
