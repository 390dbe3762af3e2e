import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditEvent, Bundle, OperationOutcome } from '@medplum/fhirtypes';
import { BACKENDS } from '../support/backends.js';
import { makeKeys, signToken, useSecureServer, type Keys } from '../security/support.js';
import type { ExportWorker } from '../../src/bulk/worker.js';
import { download, exported, idsOf, kickOff, local, manifestOf, worker } from './support.js';

let keys: Keys;
beforeAll(async () => {
  keys = await makeKeys();
});

/**
 * Access with real signed tokens: a system export needs read and search of every exported type for
 * every patient; only the client that kicked a job off may poll it, download its files or cancel it;
 * each download is audited.
 */
describe.each(BACKENDS)('Bulk Data export with SMART scopes, on $name', (backend) => {
  const bulk = { importSources: ['http://127.0.0.1:'] };
  const t = useSecureServer(backend, () => keys, {}, { audit: true, bulk });
  const token = (scope: string, claims: Record<string, unknown> = {}) =>
    signToken(keys, { scope, sub: 'eksport', client_id: 'bulk-client', ...claims }, { now: t.clock.now() });
  let running: ExportWorker;
  beforeAll(async () => {
    for (const body of [
      { resourceType: 'Patient', id: 'anna', name: [{ family: 'Anna' }] },
      {
        resourceType: 'Observation',
        id: 'obs',
        status: 'final',
        code: { text: 'Puls' },
        subject: { reference: 'Patient/anna' },
      },
      { resourceType: 'Organization', id: 'hf', name: 'Eksempel HF' },
    ]) {
      const out = await t.dispatch({ method: 'PUT', path: [body.resourceType, body.id], query: [], headers: {}, body });
      expect(out.status).toBe(201);
    }
    running = worker(t);
  });
  afterAll(() => running.stop());

  it('lets a system/*.read client export, poll and download with its token (requiresAccessToken)', async () => {
    const auth = await token('system/*.read');
    const status = await kickOff(t.http, '/fhir/$export?_type=Patient,Observation', auth);
    const m = await manifestOf(t.http, status, auth);
    expect(m.requiresAccessToken).toBe(true);
    const all = await exported(t.http, m, auth);
    expect(idsOf(all, 'Patient')).toEqual(['anna']);
    expect(idsOf(all, 'Observation')).toEqual(['obs']);
    expect((await t.http().get(local(m.output[0].url))).status).toBe(401);

    // each download is in the audit trail: an operation event naming the file and who fetched it
    await t.services.auditLog?.flush();
    const trail = await t
      .http()
      .get('/fhir/AuditEvent')
      .query({ subtype: 'operation', _count: '200' })
      .set('Authorization', `Bearer ${await token('system/*.rs')}`);
    expect(trail.status).toBe(200);
    const events = ((trail.body as Bundle).entry ?? []).map((e) => e.resource as AuditEvent);
    const fetched = events.filter((e) => e.entity?.some((x) => x.what?.reference === m.output[0].url));
    expect(fetched).toHaveLength(1);
    expect(fetched[0].outcome).toBe('0');
    expect(JSON.stringify(fetched[0].agent)).toContain('bulk-client');
  });

  it("keeps a job to its own client: another client's poll, download and cancel are 404", async () => {
    const auth = await token('system/*.read');
    const status = await kickOff(t.http, '/fhir/$export?_type=Patient', auth);
    const m = await manifestOf(t.http, status, auth);
    const other = `Bearer ${await token('system/*.read', { client_id: 'another-client' })}`;
    expect((await t.http().get(status).set('Authorization', other)).status).toBe(404);
    expect((await t.http().get(local(m.output[0].url)).set('Authorization', other)).status).toBe(404);
    expect((await t.http().delete(status).set('Authorization', other)).status).toBe(404);
    expect(await download(t.http, m.output[0].url, auth)).toHaveLength(1);
  });

  it('lets only a token that creates and updates the types for every patient import them', async () => {
    const body = {
      resourceType: 'Parameters',
      parameter: [
        { name: 'inputFormat', valueCode: 'application/fhir+ndjson' },
        {
          name: 'input',
          part: [
            { name: 'type', valueCode: 'Patient' },
            { name: 'url', valueUri: 'http://127.0.0.1:9/patients.ndjson' },
          ],
        },
      ],
    };
    const kick = async (auth: string) =>
      t
        .http()
        .post('/fhir/$import')
        .set('Prefer', 'respond-async')
        .set('Content-Type', 'application/fhir+json')
        .set('Authorization', `Bearer ${auth}`)
        .send(body);
    expect((await kick(await token('system/*.read'))).status).toBe(403);
    expect((await kick(await token('patient/*.cruds', { patient: 'anna' }))).status).toBe(403);
    const allowed = await kick(await token('system/Patient.cu'));
    expect(allowed.status, JSON.stringify(allowed.body)).toBe(202);
    // its job is its own: cancelled by it, not by another client
    const status = local(allowed.headers['content-location'] as string);
    const other = `Bearer ${await token('system/*.cruds', { client_id: 'another-client' })}`;
    expect((await t.http().delete(status).set('Authorization', other)).status).toBe(404);
    const mine = `Bearer ${await token('system/Patient.cu')}`;
    expect((await t.http().delete(status).set('Authorization', mine)).status).toBe(202);
  });

  it('refuses types the token does not reach for every patient, and leaves them out when _type is absent', async () => {
    const narrow = await token('system/Patient.read');
    const res = await t
      .http()
      .get('/fhir/$export?_type=Patient,Observation')
      .set('Prefer', 'respond-async')
      .set('Authorization', `Bearer ${narrow}`);
    expect(res.status).toBe(403);
    expect((res.body as OperationOutcome).issue[0].diagnostics).toMatch(/Observation/);
    const status = await kickOff(t.http, '/fhir/$export', narrow);
    const m = await manifestOf(t.http, status, narrow);
    expect(m.output.map((f) => f.type)).toEqual(['Patient']);
    const [warning] = (await download(t.http, m.error[0].url, narrow)) as OperationOutcome[];
    expect(warning.issue[0].diagnostics).toMatch(/Observation/);
    expect(warning.issue[0].diagnostics).toMatch(/Organization/);

    const patientScoped = await token('patient/*.read', { patient: 'anna' });
    for (const path of ['/fhir/$export?_type=Observation', '/fhir/Patient/$export']) {
      const refused = await t
        .http()
        .get(path)
        .set('Prefer', 'respond-async')
        .set('Authorization', `Bearer ${patientScoped}`);
      expect(refused.status, path).toBe(403);
    }
  });
});
