import { baselineDir, cpuMsOf, load, startServer, table, type LoadResult, type ServerKind } from './harness.js';
import { benchPatient, patientBundle, PersonNumbers } from './patients.js';
import { ingestFloor } from './ingest-floor.js';

/**
 * Issue 2's figures: create (single, and transaction Bundles of 100), read and history-read
 * throughput and latency over HTTP with 16 concurrent connections, at N resources, for Forløp on
 * both backends beside the @medplum/fhir-router MemoryRepository (the peer) and a bare Express route
 * (the ceiling for reads).
 */
/** A run's load result and the server's CPU time per request (per resource for bundles), µs. */
type Phase = LoadResult & { cpuUs: number };

interface Row {
  server: string;
  n: number;
  create: Phase;
  bundle: Phase;
  read: Phase;
  history: Phase;
}

/** `run` with the server's CPU time per request over it. */
async function timed(pid: number, run: () => Promise<LoadResult>, perRequest = 1): Promise<Phase> {
  const before = cpuMsOf(pid);
  const result = await run();
  return { ...result, cpuUs: ((cpuMsOf(pid) - before) * 1000) / Math.max(1, result.requests * perRequest) };
}

const errorsOf = (r: Row) => r.create.errors + r.bundle.errors + r.read.errors + r.history.errors;

async function measure(kind: ServerKind, n: number, seconds: number): Promise<Row> {
  const server = await startServer(kind);
  try {
    const ids: string[] = [];
    const fnrOf = new Map<string, number>();
    const people = new PersonNumbers(0);
    const create = await timed(server.pid, () =>
      load({
        url: `${server.url}/fhir/Patient`,
        method: 'POST',
        amount: n,
        setupRequest: (req) => ({ ...req, body: JSON.stringify(benchPatient(people.take())) }),
        onResponse: (status, text) => {
          if (ids.length >= 5000 || status !== 201) return;
          const made = JSON.parse(text);
          ids.push(made.id);
          fnrOf.set(made.id, made.identifier[0].value);
        },
      }),
    );
    const bundle = await timed(
      server.pid,
      () =>
        load({
          url: `${server.url}/fhir`,
          method: 'POST',
          amount: Math.max(1, n / 100),
          setupRequest: (req) => ({ ...req, body: patientBundle(people.take(100), 100) }),
          connections: 4,
        }),
      100,
    );
    // versions for history: update the first 100 resources a few times (each keeps its own person number)
    for (let v = 0; v < 4; v++) {
      await load({
        url: `${server.url}/fhir/Patient/x`,
        method: 'PUT',
        amount: 100,
        setupRequest: (req) => {
          const id = ids[Math.floor(Math.random() * 100)];
          const body = {
            ...benchPatient(v),
            id,
            identifier: [{ ...benchPatient(0).identifier[0], value: fnrOf.get(id) }],
          };
          return { ...req, path: `/fhir/Patient/${id}`, body: JSON.stringify(body) };
        },
      });
    }
    const pick = () => ids[Math.floor(Math.random() * ids.length)];
    const read = await timed(server.pid, () =>
      load({
        url: `${server.url}/fhir/Patient/x`,
        duration: seconds,
        setupRequest: (req) => ({ ...req, path: `/fhir/Patient/${pick()}` }),
      }),
    );
    const history = await timed(server.pid, () =>
      load({
        url: `${server.url}/fhir/Patient/x/_history`,
        duration: seconds,
        setupRequest: (req) => ({ ...req, path: `/fhir/Patient/${ids[Math.floor(Math.random() * 100)]}/_history` }),
      }),
    );
    const row = { server: kind, n, create, bundle: { ...bundle, rps: bundle.rps * 100 }, read, history };
    // a refused request is fast: a run with refusals measures the refusals, not the work
    if (errorsOf(row)) throw new Error(`${kind}: ${errorsOf(row)} requests failed under load`);
    return row;
  } finally {
    await server.stop();
  }
}

/** Each figure's median over the rounds (figures of one round are not kept together: noise is per figure). */
function medianRound(rounds: Row[]): Row {
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const pick = (key: 'create' | 'bundle' | 'read' | 'history'): Phase => ({
    cpuUs: median(rounds.map((r) => r[key].cpuUs)),
    rps: median(rounds.map((r) => r[key].rps)),
    p50: median(rounds.map((r) => r[key].p50)),
    p99: median(rounds.map((r) => r[key].p99)),
    errors: rounds.reduce((sum, r) => sum + r[key].errors, 0),
    requests: rounds.reduce((sum, r) => sum + r[key].requests, 0),
  });
  const r = rounds[0];
  const server = rounds.length > 1 ? `${r.server} (median of ${rounds.length})` : r.server;
  return {
    server,
    n: r.n,
    create: pick('create'),
    bundle: pick('bundle'),
    read: pick('read'),
    history: pick('history'),
  };
}

export async function restBench(sizes: number[], seconds: number, rounds = 1): Promise<string> {
  const rows: Row[] = [];
  let ceiling: LoadResult | undefined;
  {
    const server = await startServer('express-hello');
    try {
      ceiling = await load({ url: `${server.url}/fhir/Patient/hello`, duration: seconds });
    } finally {
      await server.stop();
    }
  }
  // with a baseline, each server is measured `rounds` times, interleaved, and the median round kept
  const kinds: ServerKind[] = baselineDir()
    ? ['baseline-sqlite', 'forlop-sqlite', 'baseline-postgres', 'forlop-postgres', 'medplum-memory']
    : ['forlop-sqlite', 'forlop-postgres', 'medplum-memory'];
  for (const n of sizes) {
    const runs = new Map<ServerKind, Row[]>(kinds.map((k) => [k, []]));
    for (let round = 0; round < rounds; round++)
      for (const kind of kinds) {
        process.stderr.write(`rest: ${kind} at N=${n}, round ${round + 1}/${rounds}\n`);
        runs.get(kind)!.push(await measure(kind, n, seconds));
      }
    for (const kind of kinds) rows.push(medianRound(runs.get(kind)!));
  }
  const floor = await ingestFloor(Math.max(...sizes));
  return [
    `### REST core (16 connections; bundles: 4 connections of 100-entry transactions)`,
    '',
    `Ceiling: bare Express GET route: ${ceiling.rps.toFixed(0)} req/s, p50 ${ceiling.p50} ms, p99 ${ceiling.p99} ms.`,
    '',
    table(
      [
        'server',
        'N',
        'create/s',
        'create p50/p99 ms',
        'bundle resources/s',
        'read/s',
        'read p50/p99 ms',
        'read % of ceiling',
        'history/s',
        'history p50/p99 ms',
        'server CPU µs per create / bundle resource / read',
        'errors',
      ],
      rows.map((r) => [
        r.server,
        r.n,
        Math.round(r.create.rps),
        `${r.create.p50}/${r.create.p99}`,
        Math.round(r.bundle.rps),
        Math.round(r.read.rps),
        `${r.read.p50}/${r.read.p99}`,
        `${Math.round((100 * r.read.rps) / ceiling!.rps)} %`,
        Math.round(r.history.rps),
        `${r.history.p50}/${r.history.p99}`,
        [r.create, r.bundle, r.read].map((p) => Math.round(p.cpuUs)).join(' / '),
        errorsOf(r),
      ]),
    ),
    '',
    `The database's floor for Bundle ingest (bench/ingest-floor.ts, in process, N = ${Math.max(...sizes)}): ` +
      `better-sqlite3 storing the rows the server stores for the same Patients (history, current row and ` +
      `${floor.rowsPerResource.toFixed(1)} index rows each) in transactions of 100, durable at COMMIT, ` +
      `nothing else: ${Math.round(floor.withIndex)} resources/s; without the index rows ` +
      `${Math.round(floor.withoutIndex)}/s.`,
  ].join('\n');
}
