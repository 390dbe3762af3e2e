import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import request from 'supertest';
import type { AuditEvent, Bundle } from '@medplum/fhirtypes';
import { startChildServer, type ChildServer } from '../support/child-server.js';
import { BACKENDS } from '../support/backends.js';
import { quietNodeEnv } from '../support/second-node.js';
import { BASE, FHIR_JSON, useServer } from '../support/server.js';

const WRITES = 40;
const READS = 20;

/**
 * The audit journal under SIGKILL (issue 21): a `forlop serve` process with the audit trail on (its
 * default) and the journal materialised every second is killed while writes are still coming. Every
 * write it acknowledged is stored with its AuditEvent (journalled in the write's own transaction), and
 * every read it answered more than the flush interval (50 ms) before the kill has its AuditEvent too —
 * found by an ordinary search on another node, which materialises what the dead one left journalled.
 */
describe.each(BACKENDS)('the audit trail when the process is killed, on $name', (backend) => {
  const t = useServer(backend, { audit: true });
  let child: ChildServer | undefined;
  beforeAll(async () => {
    child = await startChildServer(t.databaseUrl, quietNodeEnv({ AUDIT_MATERIALISE_SECONDS: '1' }));
  }, 180_000);
  afterAll(async () => {
    await child?.kill();
  });

  it('keeps every acknowledged write and its AuditEvent, and the reads answered before the window', async () => {
    const node = () => request.agent(child!.baseUrl);
    const created = await writePatients(node, 'acked', WRITES);
    for (let i = 0; i < READS; i++) expect((await node().get(`/fhir/Patient/${created[i]}`)).status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 300)); // past the read batch's 50 ms flush
    // writes still in flight when the process dies: whatever of them was acknowledged must survive too
    const inFlight = Array.from({ length: 20 }, (_, i) =>
      node()
        .post('/fhir/Patient')
        .set('Content-Type', FHIR_JSON)
        .send({ resourceType: 'Patient', name: [{ family: `Inflight${i}` }] })
        .then((res) => (res.status === 201 ? (res.body.id as string) : undefined))
        .catch(() => undefined),
    );
    await new Promise((resolve) => setTimeout(resolve, 15));
    await child!.kill();
    child = undefined;
    const acked = [...created, ...(await Promise.all(inFlight)).filter((id): id is string => id !== undefined)];

    for (const id of acked) expect((await t.http().get(`/fhir/Patient/${id}`)).status).toBe(200);
    const created201 = await trail(t, 'create');
    for (const id of acked) expect(created201.has(`Patient/${id}`), `the create of Patient/${id}`).toBe(true);
    const read = await trail(t, 'read');
    for (const id of created.slice(0, READS)) expect(read.has(`Patient/${id}`), `a read of Patient/${id}`).toBe(true);
  });
});

/** Creates `n` Patients one after another; their ids, each acknowledged with 201. */
async function writePatients(node: () => request.Agent, family: string, n: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const res = await node()
      .post('/fhir/Patient')
      .set('Content-Type', FHIR_JSON)
      .send({ resourceType: 'Patient', name: [{ family: `${family}${i}` }] });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    ids.push(res.body.id as string);
  }
  return ids;
}

/** The resources named by the trail's AuditEvents of one interaction, read through a search. */
async function trail(t: ReturnType<typeof useServer>, interaction: string): Promise<Set<string>> {
  const named = new Set<string>();
  let url: string | undefined = `/fhir/AuditEvent?subtype=${interaction}&_count=500`;
  while (url) {
    const res = await t.http().get(url);
    expect(res.status).toBe(200);
    const page = res.body as Bundle<AuditEvent>;
    for (const e of page.entry ?? []) for (const x of e.resource?.entity ?? []) named.add(x.what?.reference ?? '');
    const next = page.link?.find((l) => l.relation === 'next')?.url;
    url = next ? next.replace(BASE, '/fhir') : undefined;
  }
  return named;
}
