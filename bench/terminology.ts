import type { CodeSystem, ValueSet } from '@medplum/fhirtypes';
import { load, startServer, table, type BenchServer, type LoadResult } from './harness.js';

/**
 * Issue 4's figures: `$expand` and `$validate-code` over HTTP against a synthetic code system of N
 * codes (100 groups of N/100, displays of three words, an English designation each), on the
 * embedded backend. The reference in the same run is a bare Express server answering a constant
 * (the HTTP ceiling of this machine), so the table shows what the terminology work costs.
 */
const WORDS = [
  'acute',
  'chronic',
  'mild',
  'severe',
  'recurrent',
  'episode',
  'disorder',
  'syndrome',
  'reaction',
  'state',
  'type',
  'phase',
];
const SYSTEM = 'http://forlop.test/CodeSystem/synthetic';
const ALL = 'http://forlop.test/ValueSet/synthetic-all';
const GROUP = 'http://forlop.test/ValueSet/synthetic-group-7';

function syntheticCodeSystem(n: number): CodeSystem {
  const groups = 100;
  const per = Math.ceil(n / groups);
  const word = (i: number) => WORDS[i % WORDS.length];
  return {
    resourceType: 'CodeSystem',
    id: 'synthetic',
    url: SYSTEM,
    version: String(n),
    name: 'Synthetic',
    status: 'active',
    content: 'complete',
    caseSensitive: true,
    language: 'nb',
    hierarchyMeaning: 'is-a',
    concept: Array.from({ length: groups }, (_, g) => ({
      code: `G${g}`,
      display: `Gruppe ${g}`,
      concept: Array.from({ length: per - 1 }, (_, j) => {
        const i = g * per + j;
        return {
          code: `C${i}`,
          display: `${word(i)} ${word(i >> 3)} ${word(i >> 6)} ${i}`,
          designation: [{ language: 'en', value: `Concept ${i}` }],
        };
      }),
    })),
  };
}

const valueSets: ValueSet[] = [
  {
    resourceType: 'ValueSet',
    id: 'synthetic-all',
    url: ALL,
    status: 'active',
    compose: { include: [{ system: SYSTEM }] },
  },
  {
    resourceType: 'ValueSet',
    id: 'synthetic-group-7',
    url: GROUP,
    status: 'active',
    compose: { include: [{ system: SYSTEM, filter: [{ property: 'concept', op: 'is-a', value: 'G7' }] }] },
  },
];

const rnd = (n: number) => Math.floor(Math.random() * n);
/** A code that exists: group g holds C{g*per} … C{g*per+per-2}. */
const existing = (n: number) => {
  const per = Math.ceil(n / 100);
  return `C${rnd(100) * per + rnd(per - 1)}`;
};
const enc = encodeURIComponent;
interface Case {
  name: string;
  path: (n: number) => string;
}
const CASES: Case[] = [
  {
    name: '$expand all N, page of 100 at a random offset',
    path: (n) => `/fhir/ValueSet/$expand?url=${enc(ALL)}&count=100&offset=${rnd(n - 100)}`,
  },
  {
    name: '$expand all N, text filter, first 20',
    path: () =>
      `/fhir/ValueSet/$expand?url=${enc(ALL)}&filter=${WORDS[rnd(WORDS.length)]}%20${WORDS[rnd(WORDS.length)]}&count=20`,
  },
  { name: '$expand is-a one group (N/100 codes, whole)', path: () => `/fhir/ValueSet/$expand?url=${enc(GROUP)}` },
  {
    name: '$validate-code in all N (valid code)',
    path: (n) => `/fhir/ValueSet/$validate-code?url=${enc(ALL)}&system=${enc(SYSTEM)}&code=${existing(n)}`,
  },
  {
    name: '$validate-code in all N (unknown code)',
    path: (n) => `/fhir/ValueSet/$validate-code?url=${enc(ALL)}&system=${enc(SYSTEM)}&code=X${rnd(n)}`,
  },
  {
    name: '$validate-code in the group (mostly not in it)',
    path: (n) => `/fhir/ValueSet/$validate-code?url=${enc(GROUP)}&system=${enc(SYSTEM)}&code=${existing(n)}`,
  },
  { name: '$lookup', path: (n) => `/fhir/CodeSystem/$lookup?system=${enc(SYSTEM)}&code=${existing(n)}` },
];

async function put(server: BenchServer, resource: CodeSystem | ValueSet): Promise<void> {
  const res = await fetch(`${server.url}/fhir/${resource.resourceType}/${resource.id}`, {
    method: 'PUT',
    headers: { 'content-type': 'application/fhir+json' },
    body: JSON.stringify(resource),
  });
  if (!res.ok)
    throw new Error(
      `loading ${resource.resourceType}/${resource.id} failed: ${res.status} ${(await res.text()).slice(0, 300)}`,
    );
}

async function timed(url: string): Promise<number> {
  const started = performance.now();
  const res = await fetch(url);
  await res.text();
  if (!res.ok) throw new Error(`${url}: ${res.status}`);
  return performance.now() - started;
}

export async function terminologyBench(sizes: number[], seconds: number): Promise<string> {
  const rows: (string | number)[][] = [];
  const cold: (string | number)[][] = [];
  const hello = await startServer('express-hello');
  let ceiling: LoadResult;
  try {
    ceiling = await load({ url: `${hello.url}/fhir/Patient`, duration: seconds });
  } finally {
    await hello.stop();
  }
  for (const n of sizes) {
    const server = await startServer('forlop-sqlite');
    try {
      const cs = syntheticCodeSystem(n);
      const loadStarted = performance.now();
      await put(server, cs);
      const loadMs = performance.now() - loadStarted;
      for (const vs of valueSets) await put(server, vs);
      // the first expansion after a change builds the code system index and the expansion (cache miss)
      const first = await timed(`${server.url}/fhir/ValueSet/$expand?url=${enc(ALL)}&count=10`);
      const second = await timed(`${server.url}/fhir/ValueSet/$expand?url=${enc(ALL)}&count=10`);
      cold.push([n, Math.round(loadMs), Math.round(first), second.toFixed(1)]);
      for (const c of CASES) {
        const setupRequest = (req: { path: string }) => ({ ...req, path: c.path(n) });
        const latency = await load({
          url: `${server.url}/fhir/metadata`,
          duration: Math.max(2, Math.round(seconds / 2)),
          connections: 1,
          setupRequest,
        });
        const throughput = await load({ url: `${server.url}/fhir/metadata`, duration: seconds, setupRequest });
        rows.push([
          n,
          c.name,
          `${latency.p50}/${latency.p99}`,
          Math.round(latency.rps),
          Math.round(throughput.rps),
          `${throughput.p50}/${throughput.p99}`,
          latency.errors + throughput.errors,
          `${Math.round((100 * throughput.rps) / ceiling.rps)} %`,
        ]);
      }
    } finally {
      await server.stop();
    }
  }
  return [
    '### Terminology (embedded SQLite backend; synthetic code system of N codes)',
    '',
    `Latency: one connection, p50/p99 in ms. Throughput: 16 connections. Reference in this run: a bare Express server answering a constant, ${Math.round(ceiling.rps).toLocaleString('en-US')} req/s at 16 connections (p50 ${ceiling.p50} ms) — the HTTP ceiling of this machine.`,
    '',
    table(
      [
        'N codes',
        'request',
        'latency p50/p99',
        'req/s (1 conn.)',
        'req/s (16 conn.)',
        'p50/p99 at 16',
        'errors',
        'of HTTP ceiling',
      ],
      rows,
    ),
    '',
    'Loading and the first expansion (cache miss: code system index and expansion built), then the same request again (cached):',
    '',
    table(['N codes', 'PUT CodeSystem ms', 'first $expand ms', 'second $expand ms'], cold),
  ].join('\n');
}
