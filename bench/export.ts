import { mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Resource } from '@medplum/fhirtypes';
import { startExportWorker } from '../src/bulk/worker.js';
import { ManualClock } from '../src/fhir/clock.js';
import { buildApp } from '../src/http/app.js';
import { silentLog } from '../src/http/log.js';
import { PostgresStorage } from '../src/storage/postgres.js';
import { SqliteStorage } from '../src/storage/sqlite.js';
import type { Storage } from '../src/storage/types.js';
import { dropSchema, PG_URL } from '../test/support/backends.js';
import { table } from './harness.js';

/**
 * Issue 20's export figure: Bulk Data `$export` throughput in resources per second of NDJSON, on each
 * backend, in one process. N resources (a tenth Patients, the rest Observations of them) are stored
 * directly; then timed, at system and at Patient level: the kick-off over HTTP, the job run by the
 * worker (default settings: 64 MB files), the status polled every 20 ms, and every file downloaded over
 * HTTP and its lines counted.
 * The reference in the same run: the raw database read of the same rows (SELECT content, no HTTP).
 */
const BATCH = 500;

function resourceOf(i: number, patients: number): Resource {
  if (i < patients)
    return {
      resourceType: 'Patient',
      id: `p${i}`,
      gender: i % 2 ? 'male' : 'female',
      name: [{ family: `Eksport${i}` }],
    };
  return {
    resourceType: 'Observation',
    id: `o${i}`,
    status: 'final',
    code: { coding: [{ system: 'http://loinc.org', code: '8867-4' }], text: 'Puls' },
    subject: { reference: `Patient/p${i % patients}` },
    effectiveDateTime: '2026-10-01T08:00:00Z',
    valueQuantity: { value: 60 + (i % 40), unit: '/min', system: 'http://unitsofmeasure.org', code: '/min' },
  } as Resource;
}

async function seed(app: ReturnType<typeof buildApp>, n: number): Promise<void> {
  const patients = Math.max(1, Math.round(n / 10));
  for (let start = 0; start < n; start += BATCH) {
    await app.services.store.transaction(async (tx) => {
      for (let i = start; i < Math.min(n, start + BATCH); i++) {
        const r = resourceOf(i, patients);
        await app.services.store.write(tx, r.resourceType, r.id!, undefined, r, 'PUT');
      }
    });
  }
}

async function poll(url: string): Promise<{ output: { url: string; count: number }[] }> {
  for (;;) {
    const res = await fetch(url);
    if (res.status === 200) return (await res.json()) as { output: { url: string; count: number }[] };
    if (res.status !== 202) throw new Error(`status ${res.status}: ${await res.text()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** One export: kick-off to the last file downloaded; the seconds, the job's own seconds, lines and files. */
async function timeExport(
  base: string,
  local: string,
  path: string,
): Promise<{ s: number; lines: number; files: number }> {
  const t0 = performance.now();
  const kick = await fetch(`${local}${path}`, { headers: { Prefer: 'respond-async' } });
  if (kick.status !== 202) throw new Error(`kick-off ${kick.status}: ${await kick.text()}`);
  const manifest = await poll(kick.headers.get('content-location')!.replace(base, local));
  let lines = 0;
  for (const f of manifest.output) {
    const text = await (await fetch(f.url.replace(base, local))).text();
    lines += text.split('\n').length - 1;
  }
  return { s: (performance.now() - t0) / 1000, lines, files: manifest.output.length };
}

async function rawRead(storage: Storage): Promise<{ s: number; rows: number }> {
  const t0 = performance.now();
  const rows = await storage.all<{ content: string }>(
    `SELECT content FROM resources WHERE type IN ('Patient', 'Observation') AND deleted = 0 ORDER BY rid`,
  );
  let bytes = 0;
  for (const r of rows) bytes += r.content.length;
  if (!bytes) throw new Error('nothing read');
  return { s: (performance.now() - t0) / 1000, rows: rows.length };
}

/** The exports timed: the system level, and the Patient level (every patient's compartment). */
const EXPORTS = [
  ['system', '/$export?_type=Patient,Observation'],
  ['Patient', '/Patient/$export?_type=Patient,Observation'],
] as const;

/** The median of three timed runs of one export, after one warm-up. */
async function medianExport(base: string, local: string, path: string, n: number) {
  await timeExport(base, local, path);
  const runs = [
    await timeExport(base, local, path),
    await timeExport(base, local, path),
    await timeExport(base, local, path),
  ];
  if (runs.some((r) => r.lines !== n)) throw new Error(`${path}: expected ${n} lines, got ${runs.map((r) => r.lines)}`);
  return runs.sort((a, b) => a.s - b.s)[1];
}

async function oneBackend(kind: 'sqlite' | 'postgres', n: number): Promise<(string | number)[][]> {
  const dir = mkdtempSync(join(tmpdir(), 'forlop-bench-export-'));
  const schema = `bench_${randomBytes(5).toString('hex')}`;
  const storage: Storage =
    kind === 'sqlite' ? new SqliteStorage(join(dir, 'bench.db')) : await PostgresStorage.connect(PG_URL, { schema });
  const base = 'http://127.0.0.1/fhir';
  const clock = new ManualClock(new Date('2026-10-01T08:00:00Z'));
  const app = buildApp({ storage, baseUrl: base, clock, log: silentLog });
  await app.ready;
  const server: Server = app.app.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  const local = `http://127.0.0.1:${(server.address() as AddressInfo).port}/fhir`;
  const worker = startExportWorker(app.services, { pollMs: 20 });
  try {
    await seed(app, n);
    const raw = [await rawRead(storage), await rawRead(storage), await rawRead(storage)].sort((a, b) => a.s - b.s)[1];
    const rows: (string | number)[][] = [];
    for (const [level, path] of EXPORTS) {
      const median = await medianExport(base, local, path, n);
      rows.push([kind, level, n, median.files, median.s, Math.round(n / median.s), Math.round(raw.rows / raw.s)]);
    }
    return rows;
  } finally {
    await worker.stop();
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
    await storage.close();
    rmSync(dir, { recursive: true, force: true });
    if (kind === 'postgres') await dropSchema(schema);
  }
}

export async function exportBench(sizes: number[]): Promise<string> {
  const rows: (string | number)[][] = [];
  for (const n of sizes) for (const kind of ['sqlite', 'postgres'] as const) rows.push(...(await oneBackend(kind, n)));
  return [
    '### Bulk Data $export (in one process, each backend; N resources: a tenth Patients, the rest Observations)',
    '',
    "System level (`$export?_type=Patient,Observation`) and Patient level (`Patient/$export`, every patient's compartment, each Observation found through its subject). The median of three exports after one warm-up, each timed from the kick-off over HTTP to the last NDJSON file downloaded over HTTP (the job run by the worker with the default 64 MB files, the status polled every 20 ms), as resources per second. The reference in the same run: the raw database read of the same rows (`SELECT content`, no HTTP), rows per second. Goal: at least 5,000 resources/s on each backend.",
    '',
    table(
      ['backend', 'export', 'resources', 'files', 'export s', 'export resources/s', 'reference: raw read rows/s'],
      rows,
    ),
  ].join('\n');
}
