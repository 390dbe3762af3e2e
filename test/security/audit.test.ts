import { beforeAll, describe, expect, it } from 'vitest';
import type { AuditEvent, Bundle, Provenance } from '@medplum/fhirtypes';
import { BACKENDS } from '../support/backends.js';
import { FHIR_JSON } from '../support/server.js';
import { makeKeys, signToken, useSecureServer, type Keys } from './support.js';

let keys: Keys;
beforeAll(async () => {
  keys = await makeKeys();
});

/** The audit trail: an AuditEvent for every read, search, write and operation on patient data. */
describe.each(BACKENDS)('audit trail, on $name', (backend) => {
  const t = useSecureServer(backend, () => keys, {}, { audit: true });
  const as = async (scope: string, claims: Record<string, unknown> = {}) =>
    `Bearer ${await signToken(keys, { scope, sub: 'dr-hansen', client_id: 'ehr-1', fhirUser: 'Practitioner/lege', ...claims }, { now: t.clock.now() })}`;
  const trail = async (query: Record<string, string>) => {
    await t.services.auditLog?.flush();
    const res = await t
      .http()
      .get('/fhir/AuditEvent')
      .query({ ...query, _count: '100' })
      .set('Authorization', await as('system/*.rs'));
    expect(res.status).toBe(200);
    return ((res.body as Bundle).entry ?? []).map((e) => e.resource as AuditEvent);
  };
  beforeAll(async () => {
    const auth = await as('system/*.cruds');
    for (const r of [
      { resourceType: 'Patient', id: 'anna', name: [{ family: 'Anna' }] },
      { resourceType: 'Practitioner', id: 'lege', name: [{ family: 'Lege' }] },
      {
        resourceType: 'Observation',
        id: 'obs-anna',
        status: 'final',
        code: { text: 'Puls' },
        subject: { reference: 'Patient/anna' },
      },
    ]) {
      expect(
        (
          await t
            .http()
            .put(`/fhir/${r.resourceType}/${r.id}`)
            .set('Authorization', auth)
            .set('Content-Type', FHIR_JSON)
            .send(r)
        ).status,
      ).toBe(201);
    }
  });

  it('a read: who (user, client), from where, what, which patient, when, outcome', async () => {
    t.clock.set(new Date('2026-10-02T10:00:00Z'));
    expect(
      (
        await t
          .http()
          .get('/fhir/Observation/obs-anna')
          .set('Authorization', await as('user/*.rs'))
      ).status,
    ).toBe(200);
    const [event] = (await trail({ patient: 'Patient/anna', subtype: 'read' })).filter(
      (e) => e.recorded === '2026-10-02T10:00:00.000Z',
    );
    expect(event).toMatchObject({
      type: { code: 'rest' },
      subtype: [{ code: 'read' }],
      action: 'R',
      outcome: '0',
      agent: [
        {
          who: { reference: 'Practitioner/lege', identifier: { value: 'dr-hansen' } },
          altId: 'ehr-1',
          requestor: true,
          policy: ['urn:smart-scope:user/*.rs'],
        },
      ],
    });
    expect(event.agent[0].network?.address).toMatch(/127\.0\.0\.1|::1|::ffff:127/);
    expect(event.entity?.map((e) => e.what?.reference)).toEqual(['Patient/anna', 'Observation/obs-anna']);
  });

  // a read's stored JSON is parsed for the audit only when it may name a patient (request-access.ts)
  it('a read of a Patient, of a Patient linked to another, and of an Observation of no one name the right patients', async () => {
    const auth = await as('system/*.cruds');
    const linked = {
      resourceType: 'Patient',
      id: 'anna-2',
      link: [{ other: { reference: 'Patient/anna' }, type: 'seealso' }],
    };
    const unowned = { resourceType: 'Observation', id: 'obs-none', status: 'final', code: { text: 'Romtemperatur' } };
    for (const r of [linked, unowned]) {
      const put = await t
        .http()
        .put(`/fhir/${r.resourceType}/${r.id}`)
        .set('Authorization', auth)
        .set('Content-Type', FHIR_JSON)
        .send(r);
      expect(put.status).toBe(201);
    }
    const patientsRead = async (path: string, at: string) => {
      t.clock.set(new Date(at));
      expect(
        (
          await t
            .http()
            .get(path)
            .set('Authorization', await as('user/*.rs'))
        ).status,
      ).toBe(200);
      const events = (await trail({ subtype: 'read' })).filter((e) => e.recorded === new Date(at).toISOString());
      expect(events).toHaveLength(1);
      return events[0].entity?.map((e) => [e.what?.reference, e.role?.code ?? e.type?.code]);
    };
    expect(await patientsRead('/fhir/Patient/anna', '2026-10-02T10:10:00Z')).toEqual([['Patient/anna', '1']]);
    expect(await patientsRead('/fhir/Patient/anna-2', '2026-10-02T10:11:00Z')).toEqual([
      ['Patient/anna-2', '1'],
      ['Patient/anna', '1'],
    ]);
    expect(await patientsRead('/fhir/Observation/obs-none', '2026-10-02T10:12:00Z')).toEqual([
      ['Observation/obs-none', '2'],
    ]);
  });

  it('a search: the patients seen and the query', async () => {
    t.clock.set(new Date('2026-10-02T11:00:00Z'));
    await t
      .http()
      .get('/fhir/Observation')
      .query({ subject: 'Patient/anna', code: 'x' })
      .set('Authorization', await as('user/*.rs'));
    const [event] = (await trail({ subtype: 'search-type' })).filter((e) => e.recorded === '2026-10-02T11:00:00.000Z');
    const query = event.entity?.find((e) => e.query)?.query as string;
    expect(Buffer.from(query, 'base64').toString()).toBe('subject=Patient%2Fanna&code=x');
  });

  it("a write is audited in its own transaction (searchable at once), with the client's X-Provenance", async () => {
    t.clock.set(new Date('2026-10-02T12:00:00Z'));
    const provenance = {
      resourceType: 'Provenance',
      agent: [{ who: { reference: 'Practitioner/lege' } }],
      reason: [{ text: 'Ny måling' }],
    };
    const res = await t
      .http()
      .post('/fhir/Observation')
      .set('Authorization', await as('user/*.cruds'))
      .set('Content-Type', FHIR_JSON)
      .set('X-Provenance', JSON.stringify(provenance))
      .send({
        resourceType: 'Observation',
        status: 'final',
        code: { text: 'Vekt' },
        subject: { reference: 'Patient/anna' },
      });
    expect(res.status).toBe(201);
    const search = await t
      .http()
      .get('/fhir/AuditEvent')
      .query({ subtype: 'create', entity: `Observation/${res.body.id}/_history/1` })
      .set('Authorization', await as('system/*.rs'));
    expect(search.body.entry).toHaveLength(1);
    expect(search.body.entry[0].resource).toMatchObject({
      action: 'C',
      outcome: '0',
      entity: [
        { what: { reference: 'Patient/anna' } },
        { what: { reference: `Observation/${res.body.id}/_history/1` } },
      ],
    });
    const prov = await t
      .http()
      .get('/fhir/Provenance')
      .query({ target: `Observation/${res.body.id}` })
      .set('Authorization', await as('system/*.rs'));
    expect(prov.body.entry[0].resource as Provenance).toMatchObject({
      target: [{ reference: `Observation/${res.body.id}/_history/1` }],
      recorded: '2026-10-02T12:00:00.000Z',
      reason: [{ text: 'Ny måling' }],
    });
    const bad = await t
      .http()
      .post('/fhir/Observation')
      .set('Authorization', await as('user/*.cruds'))
      .set('Content-Type', FHIR_JSON)
      .set('X-Provenance', '{"resourceType":"Provenance"}')
      .send({});
    expect(bad.status).toBe(400);
    expect(bad.body.issue[0].expression).toEqual(['X-Provenance']);
  });

  it('a refused request and a failed transaction are audited as failures, and the transaction leaves no success behind', async () => {
    t.clock.set(new Date('2026-10-02T13:00:00Z'));
    expect(
      (
        await t
          .http()
          .get('/fhir/Observation/obs-anna')
          .set('Authorization', await as('user/Patient.r'))
      ).status,
    ).toBe(403);
    const tx = await t
      .http()
      .post('/fhir')
      .set('Authorization', await as('user/*.cruds'))
      .set('Content-Type', FHIR_JSON)
      .send({
        resourceType: 'Bundle',
        type: 'transaction',
        entry: [
          {
            resource: {
              resourceType: 'Observation',
              status: 'final',
              code: { text: 'OK' },
              subject: { reference: 'Patient/anna' },
            },
            request: { method: 'POST', url: 'Observation' },
          },
          {
            resource: { resourceType: 'Observation', status: 'not-a-status', code: { text: 'Bad' } },
            request: { method: 'POST', url: 'Observation' },
          },
        ],
      });
    expect(tx.status).toBe(422);
    const events = (await trail({ date: 'eq2026-10-02T13:00:00Z' })).filter(
      (e) => e.recorded === '2026-10-02T13:00:00.000Z',
    );
    expect(events.map((e) => [e.subtype?.[0].code, e.outcome]).sort()).toEqual([
      ['read', '4'],
      ['transaction', '4'],
    ]);
    expect(events.find((e) => e.subtype?.[0].code === 'read')?.outcomeDesc).toContain(
      'do not allow read on Observation',
    );
  });

  it('the trail cannot be changed or deleted through the API, whatever the scopes', async () => {
    const [event] = await trail({ subtype: 'read' });
    const admin = await as('system/*.cruds');
    expect(
      (
        await t
          .http()
          .put(`/fhir/AuditEvent/${event.id}`)
          .set('Authorization', admin)
          .set('Content-Type', FHIR_JSON)
          .send({ ...event, outcome: '0' })
      ).status,
    ).toBe(405);
    expect((await t.http().delete(`/fhir/AuditEvent/${event.id}`).set('Authorization', admin)).status).toBe(405);
    expect(
      (
        await t
          .http()
          .patch(`/fhir/AuditEvent/${event.id}`)
          .set('Authorization', admin)
          .set('Content-Type', 'application/json-patch+json')
          .send([{ op: 'replace', path: '/outcome', value: '0' }])
      ).status,
    ).toBe(405);
    expect(
      (await t.http().delete('/fhir/AuditEvent').query({ _id: event.id }).set('Authorization', admin)).status,
    ).toBe(405);
    expect((await t.http().get(`/fhir/AuditEvent/${event.id}/_history`).set('Authorization', admin)).body.total).toBe(
      1,
    );
  });

  it('terminology and conformance reads are not patient data: no event', async () => {
    t.clock.set(new Date('2026-10-02T14:00:00Z'));
    await t
      .http()
      .get('/fhir/ValueSet')
      .set('Authorization', await as('user/*.rs'));
    expect(
      (await trail({ date: 'eq2026-10-02T14:00:00Z' })).filter((e) => e.recorded === '2026-10-02T14:00:00.000Z'),
    ).toEqual([]);
  });
});

describe('audit trail with reads grouped (AUDIT_READS=grouped)', () => {
  const t = useSecureServer(BACKENDS[0], () => keys, {}, { audit: true, readAudit: 'grouped' });
  it('reads of one client within a flush are one AuditEvent spanning them, with every resource and patient read', async () => {
    const auth = `Bearer ${await signToken(keys, { scope: 'system/*.cruds', sub: 'batch-user', client_id: 'ehr-2' }, { now: new Date('2026-10-03T09:59:00Z') })}`;
    t.clock.set(new Date('2026-10-03T09:59:30Z'));
    for (const id of ['g1', 'g2', 'g3']) {
      expect(
        (
          await t
            .http()
            .put(`/fhir/Patient/${id}`)
            .set('Authorization', auth)
            .set('Content-Type', FHIR_JSON)
            .send({ resourceType: 'Patient', id })
        ).status,
      ).toBe(201);
    }
    await t.services.auditLog?.flush();
    t.clock.set(new Date('2026-10-03T10:00:00Z'));
    for (const id of ['g1', 'g2', 'g3']) await t.http().get(`/fhir/Patient/${id}`).set('Authorization', auth);
    t.clock.set(new Date('2026-10-03T10:00:01Z'));
    await t.http().get('/fhir/Patient/g1').set('Authorization', auth);
    await t.services.auditLog?.flush();
    const res = await t
      .http()
      .get('/fhir/AuditEvent')
      .query({ subtype: 'read', altid: 'ehr-2' })
      .set('Authorization', auth);
    const events = (res.body as Bundle).entry?.map((e) => e.resource as AuditEvent) ?? [];
    expect(events).toHaveLength(1);
    expect(events[0].period).toEqual({ start: '2026-10-03T10:00:00.000Z', end: '2026-10-03T10:00:01.000Z' });
    expect(events[0].entity?.map((e) => e.what?.reference).sort()).toEqual(['Patient/g1', 'Patient/g2', 'Patient/g3']);
  });
});
