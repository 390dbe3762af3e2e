import autocannon from 'autocannon';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { freePort } from '../test/support/net.js';

/** Benchmark plumbing: servers in their own processes, load from autocannon in this one. */
export interface BenchServer {
  name: string;
  url: string;
  /** The server process's id (its CPU time is in /proc/<pid>/stat). */
  pid: number;
  stop(): Promise<void>;
}

export type ServerKind =
  'forlop-sqlite' | 'forlop-postgres' | 'baseline-sqlite' | 'baseline-postgres' | 'medplum-memory' | 'express-hello';

/**
 * `--baseline <dir>`: another checkout of Forløp (its own `npm ci` done), served by its own
 * bench/server-process.ts beside this one in the same run — a change's before and after, side by side.
 */
export const baselineDir = (): string | undefined => process.env.BENCH_BASELINE || undefined;

const storageOf = (kind: ServerKind) =>
  kind.endsWith('-sqlite') ? 'sqlite' : kind.endsWith('-postgres') ? 'postgres' : undefined;

const PG_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/**
 * A process's CPU time so far, ms: utime + stime of /proc/<pid>/stat (every thread, in clock ticks of
 * 10 ms). Divided by the requests of a run, it is the server's cost per request: on a shared, noisy
 * machine it moves far less than throughput does, since other processes' load is not in it.
 */
export function cpuMsOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // the fields after the command name (which may hold spaces) start at its closing parenthesis
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/** Starts a server; `databaseUrl` reuses an existing (seeded) database instead of a fresh one. */
export async function startServer(
  kind: ServerKind,
  databaseUrl?: string,
  env: Record<string, string> = {},
): Promise<BenchServer> {
  const port = await freePort();
  let dbUrl = '';
  let cleanup = async () => undefined as void;
  if (databaseUrl) dbUrl = databaseUrl;
  else if (storageOf(kind) === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'forlop-bench-'));
    dbUrl = `sqlite:${join(dir, 'bench.db')}`;
    cleanup = async () => rmSync(dir, { recursive: true, force: true });
  } else if (storageOf(kind) === 'postgres') {
    const schema = `bench_${port}`;
    await adminQuery(`DROP SCHEMA IF EXISTS ${schema} CASCADE; CREATE SCHEMA ${schema}`);
    dbUrl = `${PG_URL}?options=${encodeURIComponent(`-c search_path=${schema}`)}`;
    cleanup = async () => adminQuery(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  }
  const processKind = storageOf(kind) ? 'forlop' : kind === 'medplum-memory' ? 'medplum' : 'express';
  const baseline = kind.startsWith('baseline');
  if (baseline && !baselineDir()) throw new Error(`${kind} needs --baseline <dir>`);
  const root = baseline ? (baselineDir() as string) : join(import.meta.dirname, '..');
  const child: ChildProcess = spawn(
    process.execPath,
    [
      // BENCH_CPU_PROF=<dir>: each server writes a V8 CPU profile there when it exits (node --cpu-prof)
      ...(process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : []),
      '--import',
      'tsx',
      join(root, 'bench', 'server-process.ts'),
      processKind,
      String(port),
      dbUrl,
    ],
    {
      cwd: root,
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { ...process.env, ...env },
    },
  );
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => {
      if (d.toString().includes('READY')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`${kind} exited with ${code}`)));
  });
  return {
    name: kind,
    url: `http://127.0.0.1:${port}`,
    pid: child.pid as number,
    async stop() {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
      await cleanup();
    },
  };
}

async function adminQuery(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: PG_URL });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

export interface LoadResult {
  /** Requests per second. */
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  requests: number;
}

export interface LoadOptions {
  url: string;
  connections?: number;
  /** Fixed number of requests, or a duration in seconds. */
  amount?: number;
  duration?: number;
  method?: string;
  body?: string;
  /** A different path (and body) per request. */
  /** Changes each request before it is sent: its path, body or headers (autocannon's request object). */
  setupRequest?: (req: BenchRequest) => BenchRequest;
  onResponse?: (status: number, body: string) => void;
  /** More request headers (Authorization …). */
  headers?: Record<string, string>;
}

export interface BenchRequest {
  path: string;
  body?: string;
  headers?: Record<string, string>;
}

export async function load(opts: LoadOptions): Promise<LoadResult> {
  const u = new URL(opts.url);
  const started = performance.now();
  const result = await autocannon({
    url: `${u.protocol}//${u.host}`,
    connections: opts.connections ?? 16,
    pipelining: 1,
    ...(opts.amount ? { amount: opts.amount } : { duration: opts.duration ?? 10 }),
    requests: [
      {
        method: opts.method ?? 'GET',
        path: u.pathname + u.search,
        headers: { 'content-type': 'application/fhir+json', accept: 'application/fhir+json', ...opts.headers },
        ...(opts.body ? { body: opts.body } : {}),
        ...(opts.setupRequest ? { setupRequest: opts.setupRequest } : {}),
        ...(opts.onResponse ? { onResponse: opts.onResponse } : {}),
      },
    ],
  });
  // autocannon reports whole seconds; time the run here for an exact rate
  const seconds = (performance.now() - started) / 1000;
  const completed = result.requests.total as number;
  return {
    rps: completed / seconds,
    p50: result.latency.p50 as number,
    p99: result.latency.p99 as number,
    errors: (result.errors as number) + (result.non2xx as number),
    requests: completed,
  };
}

/** A markdown table: the same form in the terminal and in the README. */
export function table(headers: string[], rows: (string | number)[][]): string {
  const fmt = (v: string | number) =>
    typeof v === 'number' ? (Number.isInteger(v) ? v.toLocaleString('en-US') : v.toFixed(1)) : v;
  const lines = [headers, headers.map(() => '---'), ...rows.map((r) => r.map(fmt))].map((r) => `| ${r.join(' | ')} |`);
  return lines.join('\n');
}

/** The value at fraction `p` of an ascending list (p50: 0.5, p95: 0.95). */
export const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))];

/** POSTs a resource to a type's URL and returns the created one's id; anything but 201 ends the run. */
export async function createResource(url: string, body: object): Promise<string> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'Content-Type': 'application/fhir+json' },
    body: JSON.stringify(body),
  });
  const json = (await res.json()) as { id: string };
  if (res.status !== 201) throw new Error(`${url}: ${res.status} ${JSON.stringify(json)}`);
  return json.id;
}
