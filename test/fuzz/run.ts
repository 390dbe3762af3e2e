import { createHash } from 'node:crypto';
import { ManualClock } from '../../src/fhir/clock.js';
import type { Storage } from '../../src/storage/types.js';
import { TokenVerifier } from '../../src/security/tokens.js';
import { adapterXmlModel } from '../../src/http/xml.js';
import { resourceFromXml } from '../../src/xml/read.js';
import { ISSUER, makeKeys, signToken } from '../security/support.js';
import { fuzzRequests } from './requests.js';
import { startInProcess } from '../support/in-process.js';

export interface FuzzReport {
  requests: number;
  byStatus: Record<string, number>;
  /** Requests answered wrongly: a 5xx, a 4xx without an OperationOutcome, a leaked stack trace, no answer. */
  failures: { request: string; status: number; why: string }[];
  dataUnchanged: boolean;
  seconds: number;
}

const FIXTURES = [
  { resourceType: 'Patient', id: 'p1', name: [{ family: 'Nordmann', given: ['Kari'] }], birthDate: '1980-01-01' },
  {
    resourceType: 'Observation',
    id: 'o1',
    status: 'final',
    code: { text: 'Puls' },
    subject: { reference: 'Patient/p1' },
  },
];

/** The stored data that matters (everything but the audit trail the fuzz itself leaves), as one hash. */
async function fingerprint(storage: Storage): Promise<string> {
  const rows = await storage.all<{ type: string; id: string; version: number; content: string | null }>(
    `SELECT type, id, version, content FROM resources WHERE type <> 'AuditEvent' ORDER BY type, id`,
  );
  return createHash('sha256').update(JSON.stringify(rows)).digest('hex');
}

/**
 * Sends `count` malformed requests (fixed seed) to a server with authentication and audit on, four
 * at a time, and checks each answer: never a 5xx, every 4xx an OperationOutcome, no stack traces
 * or internal paths; afterwards the stored data must be what it was.
 */
export async function runFuzz(
  storage: Storage,
  seed: number,
  count: number,
  onProgress?: (done: number) => void,
): Promise<FuzzReport> {
  const keys = await makeKeys();
  const clock = new ManualClock(new Date('2026-10-01T08:00:00Z'));
  const base = 'http://127.0.0.1/fhir';
  const running = await startInProcess(clock.now().toISOString(), {
    storage,
    clock,
    baseUrl: base,
    audit: true,
    security: {
      tokens: new TokenVerifier({ issuer: ISSUER, audience: base, jwks: keys.jwksFile }, clock),
      smart: { issuer: ISSUER, tokenEndpoint: `${ISSUER}/token` },
    },
  });
  const { built, url } = running;
  const token = await signToken(
    keys,
    { scope: 'system/*.cruds' },
    { now: clock.now(), expiresIn: 86_400, audience: base },
  );
  const report: FuzzReport = { requests: 0, byStatus: {}, failures: [], dataUnchanged: false, seconds: 0 };
  const started = performance.now();
  try {
    for (const r of FIXTURES) {
      const res = await fetch(`${url}/${r.resourceType}/${r.id}`, {
        method: 'PUT',
        headers: { 'Content-Type': 'application/fhir+json', Authorization: `Bearer ${token}` },
        body: JSON.stringify(r),
      });
      if (res.status !== 201) throw new Error(`fixture ${r.id}: ${res.status}`);
    }
    await built.services.auditLog?.flush();
    const before = await fingerprint(storage);
    const requests = fuzzRequests(seed, count, token);
    let next = 0;
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        for (let i = next++; i < requests.length; i = next++) {
          const r = requests[i];
          const shown = `${r.method} /${r.path.slice(0, 200)}`;
          let status = 0;
          try {
            const res = await fetch(`${url}/${r.path}`, {
              method: r.method,
              headers: r.headers,
              body: typeof r.body === 'string' || r.body === undefined ? r.body : new Uint8Array(r.body),
            });
            status = res.status;
            const text = await res.text();
            report.byStatus[status] = (report.byStatus[status] ?? 0) + 1;
            if (status >= 500) report.failures.push({ request: shown, status, why: text.slice(0, 300) });
            else if (status === 201)
              report.failures.push({
                request: shown,
                status,
                why: `a malformed write was stored: ${String(r.body).slice(0, 300)}`,
              });
            else if (status >= 400) {
              // a request whose body was XML is answered in XML (R4 §3.1.0.1.10): read it as the server would
              const xml = /xml/.test(res.headers.get('content-type') ?? '');
              const body = (xml ? resourceFromXml(adapterXmlModel(), text, 64) : JSON.parse(text)) as {
                resourceType?: string;
                issue?: unknown[];
              };
              if (body.resourceType !== 'OperationOutcome' || !body.issue?.length)
                report.failures.push({ request: shown, status, why: 'a 4xx without an OperationOutcome' });
            }
            if (/\bat [\w.<>]+ \(|node_modules|\/src\/[\w/]+\.ts|\/work\//.test(text))
              report.failures.push({ request: shown, status, why: 'stack trace or internal path in the answer' });
          } catch (err) {
            report.failures.push({ request: shown, status, why: `no answer: ${String(err)}` });
          }
          report.requests++;
          if (onProgress && report.requests % 1000 === 0) onProgress(report.requests);
        }
      }),
    );
    await built.services.auditLog?.flush();
    report.dataUnchanged = (await fingerprint(storage)) === before;
  } finally {
    await running.close();
  }
  report.seconds = (performance.now() - started) / 1000;
  return report;
}
