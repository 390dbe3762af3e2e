import {
  baselineDir,
  cpuMsOf,
  load,
  startServer,
  table,
  type BenchServer,
  type LoadResult,
  type ServerKind,
} from './harness.js';
import { ISSUER, signToken, type Keys } from '../test/security/support.js';
import { makeDpopKey, makeProof, type DpopKey } from '../test/security/helseid-support.js';
import { benchPatient, PersonNumbers } from './patients.js';

type Kind = 'Bearer' | 'ES256' | 'RS256';
const KINDS: Kind[] = ['Bearer', 'ES256', 'RS256'];

/** A slice's load result and the server's CPU time over it (user + system, ms). */
type Slice = LoadResult & { cpuMs: number };

/** `count` proofs made ahead for GETs of random ids, one per request, taken in turn. */
async function proofPool(key: DpopKey, token: string, origin: string, ids: string[], count: number) {
  const alg = key.jwk.kty === 'RSA' ? 'RS256' : 'ES256';
  const pool: { path: string; proof: string }[] = [];
  for (let i = 0; i < count; i++) {
    const path = `/fhir/Patient/${ids[Math.floor(Math.random() * ids.length)]}`;
    pool.push({ path, proof: await makeProof(key, { htu: `${origin}${path}`, token, now: new Date(), alg }) });
  }
  let next = 0;
  // past the pool a proof would be used again: the server refuses the replay, and the run fails on it
  return () => pool[next++];
}

/** One server under test: its tokens, its Patients and the slices measured on it. */
interface Target {
  name: string;
  server: BenchServer;
  tokens: Record<Kind, string>;
  ids: string[];
  slices: Record<Kind, Slice[]>;
}

type DpopKeys = Record<'ES256' | 'RS256', DpopKey>;

/** A server (DPoP allowed, no audit) with 2,000 Patients, and a token of each kind for it. */
async function prepare(kind: ServerKind, keys: Keys, dpopKeys: DpopKeys): Promise<Target> {
  const env = { BENCH_JWKS: keys.jwksFile, BENCH_ISSUER: ISSUER, BENCH_AUDIT: 'false', BENCH_DPOP: 'allowed' };
  const server = await startServer(kind, undefined, env);
  const fhir = `${server.url}/fhir`;
  const tokenFor = (jkt?: string) =>
    signToken(keys, { scope: 'system/*.cruds', ...(jkt ? { cnf: { jkt } } : {}) }, { audience: fhir, expiresIn: 3600 });
  const tokens = {
    Bearer: await tokenFor(),
    ES256: await tokenFor(dpopKeys.ES256.jkt),
    RS256: await tokenFor(dpopKeys.RS256.jkt),
  };
  const ids = await createPatients(fhir, tokens.Bearer, 2000);
  const name = kind.startsWith('baseline') ? `baseline (${baselineDir()})` : 'this checkout';
  return { name, server, tokens, ids, slices: { Bearer: [], ES256: [], RS256: [] } };
}

/** One one-second slice of `kind` reads on a target, with the server's CPU time over it. */
async function slice(t: Target, kind: Kind, dpopKeys: DpopKeys): Promise<void> {
  const scheme = kind === 'Bearer' ? 'Bearer' : 'DPoP';
  const expected = Math.ceil((t.slices.Bearer.at(-1)?.rps ?? 6000) * 1.5) + 500;
  const next =
    kind === 'Bearer' ? undefined : await proofPool(dpopKeys[kind], t.tokens[kind], t.server.url, t.ids, expected);
  const cpuBefore = cpuMsOf(t.server.pid);
  const result = await load({
    url: `${t.server.url}/fhir/Patient/x`,
    duration: 1,
    headers: { authorization: `${scheme} ${t.tokens[kind]}` },
    setupRequest: (req) => {
      if (!next) return { ...req, path: `/fhir/Patient/${t.ids[Math.floor(Math.random() * t.ids.length)]}` };
      const { path, proof } = next();
      return { ...req, path, headers: { ...req.headers, dpop: proof } };
    },
  });
  const cpuMs = cpuMsOf(t.server.pid) - cpuBefore;
  if (result.errors) throw new Error(`${result.errors} errors in a ${kind} slice on ${t.name}`);
  t.slices[kind].push({ ...result, cpuMs });
}

/**
 * Issue 22's figure: what DPoP costs on reads beside bearer tokens. One server (embedded SQLite, DPoP
 * allowed, no audit) takes both; reads of random Patients in one-second slices that take turns —
 * bearer, DPoP with ES256 proofs, DPoP with RS256 proofs, and again — so the machine's other load
 * falls on all three alike. Every DPoP request carries a new proof, made by the bench client just
 * before its slice (never reused); the server verifies its signature and claims and records its jti.
 * With `--baseline <dir>` a server of that checkout takes its turns beside this one's, in the same run.
 */
export async function dpopBench(keys: Keys, seconds: number): Promise<string> {
  const kinds: ServerKind[] = baselineDir() ? ['baseline-sqlite', 'forlop-sqlite'] : ['forlop-sqlite'];
  const dpopKeys = { ES256: await makeDpopKey('ES256'), RS256: await makeDpopKey('RS256') };
  const targets: Target[] = [];
  try {
    for (const kind of kinds) targets.push(await prepare(kind, keys, dpopKeys));
    for (let round = 0; round < seconds; round++)
      for (const t of targets) for (const kind of KINDS) await slice(t, kind, dpopKeys);
    return report(targets, seconds);
  } finally {
    for (const t of targets) await t.server.stop();
  }
}

async function createPatients(fhir: string, token: string, n: number): Promise<string[]> {
  const ids: string[] = [];
  const people = new PersonNumbers(0);
  await load({
    url: `${fhir}/Patient`,
    method: 'POST',
    amount: n,
    headers: { authorization: `Bearer ${token}` },
    setupRequest: (req) => ({ ...req, body: JSON.stringify(benchPatient(people.take())) }),
    onResponse: (status, text) => {
      if (status === 201) ids.push(JSON.parse(text).id);
    },
  });
  return ids;
}

function report(targets: Target[], seconds: number): string {
  const rows = targets.flatMap((t) => rowsOf(t, targets.length > 1));
  return [
    '### DPoP against bearer tokens on reads (embedded SQLite, 16 connections, one server)',
    '',
    `Reads of random Patients in ${seconds} rounds of three one-second slices taking turns (bearer, ES256, RS256), ` +
      "so the machine's other load falls on all alike. Each DPoP request carries a new proof, made by the bench " +
      'client before its slice and never reused; the server checks its signature and claims and records ' +
      "its jti (dpop_jti). Server CPU per request: the server process's user + system time " +
      '(/proc/<pid>/stat) over its slices, divided by their requests. Goal (issue 22): at most 10 % fewer ' +
      'reads than bearer.' +
      (targets.length > 1 ? ' Two servers (a baseline checkout and this one) take their turns in the same run.' : ''),
    '',
    table(
      [
        'token',
        'reads',
        'read/s',
        'p50 (median)/p99 (max) ms',
        'fewer reads than bearer',
        'server CPU µs/read',
        'more CPU than bearer',
      ],
      rows,
    ),
  ].join('\n');
}

function rowsOf(t: Target, named: boolean): (string | number)[][] {
  const slices = t.slices;
  const sum = (k: Kind, f: (r: Slice) => number) => slices[k].reduce((acc, r) => acc + f(r), 0);
  const total = (k: Kind) => sum(k, (r) => r.requests);
  const rate = (k: Kind) => total(k) / sum(k, (r) => r.requests / r.rps);
  // server CPU per request over all of a kind's slices, µs: what each request costs the server, whatever the load
  const cpu = (k: Kind) => (sum(k, (r) => r.cpuMs) * 1000) / total(k);
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const pct = (x: number) => `${Math.round(x * 100)} %`;
  return KINDS.map((k) => [
    (named ? `${t.name}: ` : '') +
      (k === 'Bearer'
        ? 'Bearer token (RS256 JWT, verified once, then cached)'
        : `DPoP-bound token + ${k} proof per request`),
    total(k),
    Math.round(rate(k)),
    `${median(slices[k].map((r) => r.p50))}/${Math.max(...slices[k].map((r) => r.p99))}`,
    k === 'Bearer' ? '–' : pct(1 - rate(k) / rate('Bearer')),
    Math.round(cpu(k)),
    k === 'Bearer' ? '–' : pct(cpu(k) / cpu('Bearer') - 1),
  ]);
}
