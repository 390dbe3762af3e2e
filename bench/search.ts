import type { Resource } from '@medplum/fhirtypes';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServices } from '../src/app/services.js';
import { SqliteStorage } from '../src/storage/sqlite.js';
import { load, startServer, table, type BenchServer, type LoadResult } from './harness.js';
import { fnrFor } from '../test/support/norwegian-ids.js';

/**
 * Issue 3's figures: search latency and throughput over HTTP at N indexed resources (a third each
 * Patients, CarePlans and Tasks) for token, date range, string prefix, chained and _include searches,
 * on the embedded backend and beside the @medplum/fhir-router MemoryRepository peer.
 */
const SURNAMES = [
  'Hansen',
  'Johansen',
  'Olsen',
  'Larsen',
  'Andersen',
  'Pedersen',
  'Nilsen',
  'Kristiansen',
  'Jensen',
  'Karlsen',
  'Haugen',
  'Berg',
  'Sørensen',
  'Ødegård',
  'Åsheim',
];
const fnr = fnrFor;

function journey(i: number): Resource[] {
  const day = 1 + (i % 365);
  const due = new Date(Date.UTC(2026, 0, day)).toISOString().slice(0, 10);
  return [
    {
      resourceType: 'Patient',
      id: `p-${i}`,
      identifier: [{ system: 'urn:oid:2.16.578.1.12.4.1.4.1', value: fnr(i) }],
      name: [{ family: `${SURNAMES[i % SURNAMES.length]}${i % 1000}`, given: ['Kari'] }],
      gender: i % 2 ? 'female' : 'male',
      birthDate: `19${String(40 + (i % 60)).padStart(2, '0')}-0${1 + (i % 9)}-1${i % 10}`,
    },
    {
      resourceType: 'CarePlan',
      id: `cp-${i}`,
      status: 'active',
      intent: 'plan',
      subject: { reference: `Patient/p-${i}` },
      instantiatesCanonical: ['http://forlop.no/fhir/PlanDefinition/d11'],
    },
    {
      resourceType: 'Task',
      id: `t-${i}`,
      status: 'requested',
      intent: 'order',
      for: { reference: `Patient/p-${i}` },
      basedOn: [{ reference: `CarePlan/cp-${i}` }],
      businessStatus: {
        coding: [
          { system: 'http://forlop.no/fhir/CodeSystem/deadline-status', code: i % 10 === 0 ? 'overdue' : 'on-time' },
        ],
      },
      restriction: { period: { end: due } },
    },
  ] as Resource[];
}

export async function seedSqlite(file: string, journeys: number): Promise<number> {
  const storage = new SqliteStorage(file);
  const svc = createServices({ storage, baseUrl: 'http://127.0.0.1/fhir' });
  await svc.ready;
  const started = Date.now();
  for (let i = 0; i < journeys; i += 1000) {
    await svc.store.transaction(async (tx) => {
      for (let j = i; j < Math.min(journeys, i + 1000); j++) {
        for (const r of journey(j)) await svc.store.write(tx, r.resourceType, r.id as string, undefined, r, 'POST');
      }
    });
    if ((i / 1000) % 50 === 0) process.stderr.write(`  seeded ${(i * 3).toLocaleString('en-US')} resources\n`);
  }
  await storage.close();
  return (Date.now() - started) / 1000;
}

async function seedOverHttp(server: BenchServer, journeys: number): Promise<void> {
  for (let i = 0; i < journeys; i += 500) {
    const entry = [];
    for (let j = i; j < Math.min(journeys, i + 500); j++)
      for (const r of journey(j))
        entry.push({ resource: r, request: { method: 'PUT', url: `${r.resourceType}/${r.id}` } });
    const res = await fetch(`${server.url}/fhir`, {
      method: 'POST',
      headers: { 'content-type': 'application/fhir+json' },
      body: JSON.stringify({ resourceType: 'Bundle', type: 'transaction', entry }),
    });
    if (!res.ok) throw new Error(`seeding failed: ${res.status} ${await res.text()}`);
  }
}

interface Query {
  name: string;
  path: (journeys: number) => string;
}

const rnd = (n: number) => Math.floor(Math.random() * n);
const QUERIES: Query[] = [
  {
    name: 'token (identifier, 1 match)',
    path: (n) => `/fhir/Patient?identifier=urn:oid:2.16.578.1.12.4.1.4.1|${fnr(rnd(n))}`,
  },
  { name: 'token (business-status, 10 %, page of 20)', path: () => `/fhir/Task?business-status=overdue&_count=20` },
  {
    name: 'date range (one day of due dates)',
    path: () =>
      `/fhir/Task?due=ge2026-03-${String(1 + rnd(28)).padStart(2, '0')}&due=lt2026-03-${String(2 + rnd(27)).padStart(2, '0')}&_count=20`,
  },
  {
    name: 'string prefix (family)',
    path: () =>
      `/fhir/Patient?family=${encodeURIComponent(SURNAMES[rnd(SURNAMES.length)].slice(0, 5))}${rnd(1000)}&_count=20`,
  },
  {
    name: 'chained (CarePlan by patient identifier)',
    path: (n) => `/fhir/CarePlan?subject:Patient.identifier=urn:oid:2.16.578.1.12.4.1.4.1|${fnr(rnd(n))}`,
  },
  {
    name: '_include (CarePlan + its Patient)',
    path: (n) => `/fhir/CarePlan?subject=Patient/p-${rnd(n)}&_include=CarePlan:subject`,
  },
];

/** Per query: latency with one connection (no queueing), throughput with 16. */
async function measure(
  server: BenchServer,
  journeys: number,
  seconds: number,
): Promise<{ latency: LoadResult; throughput: LoadResult }[]> {
  const out: { latency: LoadResult; throughput: LoadResult }[] = [];
  for (const q of QUERIES) {
    const setupRequest = (req: { path: string }) => ({ ...req, path: q.path(journeys) });
    const latency = await load({
      url: `${server.url}/fhir/Patient`,
      duration: Math.max(2, Math.round(seconds / 2)),
      connections: 1,
      setupRequest,
    });
    const throughput = await load({ url: `${server.url}/fhir/Patient`, duration: seconds, setupRequest });
    out.push({ latency, throughput });
  }
  return out;
}

export async function searchBench(sizes: number[], seconds: number, peerMax: number): Promise<string> {
  const rows: (string | number)[][] = [];
  for (const n of sizes) {
    const journeys = Math.floor(n / 3);
    const dir = mkdtempSync(join(tmpdir(), 'forlop-search-bench-'));
    try {
      process.stderr.write(`search: seeding ${n.toLocaleString('en-US')} resources into SQLite\n`);
      const seedSeconds = await seedSqlite(join(dir, 'bench.db'), journeys);
      process.stderr.write(
        `search: seeded in ${seedSeconds.toFixed(0)} s (${Math.round((journeys * 3) / seedSeconds)} resources/s)\n`,
      );
      const forlop = await startServer('forlop-sqlite', `sqlite:${join(dir, 'bench.db')}`);
      let ours: { latency: LoadResult; throughput: LoadResult }[];
      try {
        ours = await measure(forlop, journeys, seconds);
      } finally {
        await forlop.stop();
      }
      let peer: { latency: LoadResult; throughput: LoadResult }[] | undefined;
      if (n <= peerMax) {
        process.stderr.write(`search: seeding the Medplum peer with ${n.toLocaleString('en-US')} resources\n`);
        const medplum = await startServer('medplum-memory');
        try {
          await seedOverHttp(medplum, journeys);
          peer = await measure(medplum, journeys, seconds);
        } finally {
          await medplum.stop();
        }
      }
      QUERIES.forEach((q, i) => {
        const o = ours[i];
        const p = peer?.[i];
        const peerOk =
          p && p.throughput.errors < p.throughput.requests / 2 && p.latency.errors < p.latency.requests / 2;
        rows.push([
          n,
          q.name,
          `${o.latency.p50}/${o.latency.p99}`,
          Math.round(o.throughput.rps),
          `${o.throughput.p50}/${o.throughput.p99}`,
          o.latency.errors + o.throughput.errors,
          peerOk ? `${p.latency.p50}/${p.latency.p99}` : p ? 'errors' : 'not run',
          peerOk ? Math.round(p.throughput.rps) : '–',
          peerOk ? `${(o.throughput.rps / p.throughput.rps).toFixed(1)}x` : '–',
        ]);
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  return [
    '### Search (embedded SQLite backend; 16 connections; N = Patients + CarePlans + Tasks, a third each)',
    '',
    'Latency: one connection, p50/p99 in ms. Throughput: 16 connections (its p50/p99 include queueing).',
    '',
    table(
      [
        'N',
        'query',
        'latency p50/p99',
        'req/s (16 conn.)',
        'p50/p99 at 16',
        'errors',
        'peer latency p50/p99',
        'peer req/s',
        'ours / peer',
      ],
      rows,
    ),
  ].join('\n');
}
