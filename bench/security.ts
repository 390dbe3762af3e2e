import { load, startServer, table, type LoadResult } from './harness.js';
import { ISSUER, makeKeys, signToken } from '../test/security/support.js';
import { benchPatient, PersonNumbers } from './patients.js';
import { dpopBench } from './dpop.js';

/**
 * Issue 8's figure: what authentication and the audit trail cost. The same server (embedded SQLite)
 * twice in one run — without them, and with RS256 bearer tokens verified on every request, SMART
 * scopes checked and an AuditEvent for every read and create — under the same load: creates, then
 * reads of random ones, 16 connections. Then issue 22's: DPoP against bearer tokens on reads (dpop.ts).
 */
export async function securityBench(n: number, seconds: number): Promise<string> {
  const keys = await makeKeys();
  const rows: (string | number)[][] = [];
  const results: Record<string, { create: LoadResult; read: LoadResult }> = {};
  const CONFIGS: [name: string, env: Record<string, string>][] = [
    ['no auth, no audit', {}],
    ['auth only (RS256 JWT, scopes)', { BENCH_JWKS: keys.jwksFile, BENCH_ISSUER: ISSUER, BENCH_AUDIT: 'false' }],
    ['auth + audit (an AuditEvent per read)', { BENCH_JWKS: keys.jwksFile, BENCH_ISSUER: ISSUER }],
    [
      'auth + audit (reads grouped per 50 ms)',
      { BENCH_JWKS: keys.jwksFile, BENCH_ISSUER: ISSUER, BENCH_READ_AUDIT: 'grouped' },
    ],
  ];
  for (const [name, env] of CONFIGS) {
    const secure = Boolean(env.BENCH_JWKS);
    const server = await startServer('forlop-sqlite', undefined, env);
    try {
      const token = await signToken(
        keys,
        { scope: 'system/*.cruds', client_id: 'bench' },
        { audience: `${server.url}/fhir`, expiresIn: 3600 },
      );
      const headers: Record<string, string> = secure ? { authorization: `Bearer ${token}` } : {};
      const ids: string[] = [];
      const people = new PersonNumbers(0);
      const create = await load({
        url: `${server.url}/fhir/Patient`,
        method: 'POST',
        amount: n,
        setupRequest: (req) => ({ ...req, body: JSON.stringify(benchPatient(people.take())) }),
        headers,
        onResponse: (status, text) => {
          if (ids.length < 5000 && status === 201) ids.push(JSON.parse(text).id);
        },
      });
      const read = await load({
        url: `${server.url}/fhir/Patient/x`,
        duration: seconds,
        headers,
        setupRequest: (req) => ({ ...req, path: `/fhir/Patient/${ids[Math.floor(Math.random() * ids.length)]}` }),
      });
      if (create.errors || read.errors)
        throw new Error(`errors under load: ${create.errors} creates, ${read.errors} reads`);
      results[name] = { create, read };
    } finally {
      await server.stop();
    }
  }
  const overhead = (off: number, on: number) => (on === off ? '–' : `${Math.round((1 - on / off) * 100)} %`);
  const base = results[CONFIGS[0][0]];
  for (const [name, r] of Object.entries(results)) {
    rows.push([
      name,
      n,
      Math.round(r.create.rps),
      `${r.create.p50}/${r.create.p99}`,
      overhead(base.create.rps, r.create.rps),
      Math.round(r.read.rps),
      `${r.read.p50}/${r.read.p99}`,
      overhead(base.read.rps, r.read.rps),
    ]);
  }
  return [
    '### Security: the cost of authentication and audit (embedded SQLite, 16 connections)',
    '',
    `${n.toLocaleString('en-US')} creates, then reads of random ones for ${seconds} s; the same server process without, and with, token verification, scope checks and an AuditEvent per request (reads through the batched audit log, creates in their own transaction).`,
    '',
    table(['server', 'N', 'create/s', 'create p50/p99 ms', 'overhead', 'read/s', 'read p50/p99 ms', 'overhead'], rows),
    '',
    await dpopBench(keys, seconds),
  ].join('\n');
}
