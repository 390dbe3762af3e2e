import { describe, expect, it } from 'vitest';
import { BACKENDS } from './support/backends.js';
import { FHIR_JSON, useServer } from './support/server.js';

type Entry = {
  fullUrl?: string;
  resource?: Record<string, unknown>;
  request: { method: string; url: string; ifNoneExist?: string; ifMatch?: string };
};
const bundle = (type: 'transaction' | 'batch', entry: Entry[]) => ({ resourceType: 'Bundle', type, entry });

describe.each(BACKENDS)('transaction and batch on $name', (backend) => {
  const t = useServer(backend);
  const post = (body: object, prefer?: string) => {
    const r = t.http().post('/fhir').set('Content-Type', FHIR_JSON);
    if (prefer) r.set('Prefer', prefer);
    return r.send(body);
  };
  const count = async (type: string) => (await t.http().get(`/fhir/${type}?_summary=count`)).body.total as number;

  it('creates with urn:uuid references rewritten, in one transaction', async () => {
    const res = await post(
      bundle('transaction', [
        {
          fullUrl: 'urn:uuid:61ebe359-bfdc-4613-8bf2-c5e300945f0a',
          resource: { resourceType: 'Patient', name: [{ family: 'Ås' }] },
          request: { method: 'POST', url: 'Patient' },
        },
        {
          fullUrl: 'urn:uuid:88f151c0-a954-468a-88bd-5ae15c08e059',
          resource: {
            resourceType: 'EpisodeOfCare',
            status: 'active',
            patient: { reference: 'urn:uuid:61ebe359-bfdc-4613-8bf2-c5e300945f0a' },
          },
          request: { method: 'POST', url: 'EpisodeOfCare' },
        },
        {
          resource: {
            resourceType: 'CarePlan',
            status: 'active',
            intent: 'plan',
            subject: { reference: 'urn:uuid:61ebe359-bfdc-4613-8bf2-c5e300945f0a' },
            supportingInfo: [{ reference: 'urn:uuid:88f151c0-a954-468a-88bd-5ae15c08e059' }],
          },
          request: { method: 'POST', url: 'CarePlan' },
        },
      ]),
    );
    expect(res.status).toBe(200);
    expect(res.body.type).toBe('transaction-response');
    const [p, e, c] = res.body.entry;
    expect(p.response.status).toBe('201 Created');
    expect(p.response.location).toMatch(/^Patient\/[^/]+\/_history\/1$/);
    expect(p.response.etag).toBe('W/"1"');
    const patientId = p.resource.id;
    expect(e.resource.patient.reference).toBe(`Patient/${patientId}`);
    expect(c.resource.subject.reference).toBe(`Patient/${patientId}`);
    expect(c.resource.supportingInfo[0].reference).toBe(`EpisodeOfCare/${e.resource.id}`);
    // the references are searchable as rewritten
    const found = await t.http().get(`/fhir/CarePlan?subject=Patient/${patientId}`);
    expect(found.body.total).toBe(1);
  });

  it('resolves conditional references and conditional creates inside the transaction', async () => {
    await t
      .http()
      .post('/fhir/Patient')
      .set('Content-Type', FHIR_JSON)
      .send({
        resourceType: 'Patient',
        identifier: [{ system: 'urn:oid:2.16.578.1.12.4.1.4.1', value: '15076500565' }],
      });
    const res = await post(
      bundle('transaction', [
        {
          resource: {
            resourceType: 'Encounter',
            status: 'planned',
            class: { code: 'AMB' },
            subject: { reference: 'Patient?identifier=urn:oid:2.16.578.1.12.4.1.4.1|15076500565' },
          },
          request: { method: 'POST', url: 'Encounter' },
        },
        {
          fullUrl: 'urn:uuid:0b8a1fa8-5a0f-4c0a-a8f7-8f2d2f2f0001',
          resource: {
            resourceType: 'Organization',
            identifier: [{ system: 'urn:oid:2.16.578.1.12.4.1.4.101', value: '974589095' }],
            name: 'Helse Vest',
          },
          request: {
            method: 'POST',
            url: 'Organization',
            ifNoneExist: 'identifier=urn:oid:2.16.578.1.12.4.1.4.101|974589095',
          },
        },
        {
          resource: {
            resourceType: 'Practitioner',
            name: [{ family: 'Koordinator' }],
            qualification: [
              { code: { text: 'x' }, issuer: { reference: 'urn:uuid:0b8a1fa8-5a0f-4c0a-a8f7-8f2d2f2f0001' } },
            ],
          },
          request: { method: 'POST', url: 'Practitioner' },
        },
      ]),
    );
    expect(res.status).toBe(200);
    const patient = (await t.http().get('/fhir/Patient?identifier=15076500565')).body.entry[0].resource;
    expect(res.body.entry[0].resource.subject.reference).toBe(`Patient/${patient.id}`);
    const orgId = res.body.entry[1].resource.id;
    expect(res.body.entry[2].resource.qualification[0].issuer.reference).toBe(`Organization/${orgId}`);
    // the same transaction again: the organization is matched, not duplicated
    const again = await post(
      bundle('transaction', [
        {
          fullUrl: 'urn:uuid:0b8a1fa8-5a0f-4c0a-a8f7-8f2d2f2f0002',
          resource: { resourceType: 'Organization', name: 'Helse Vest' },
          request: {
            method: 'POST',
            url: 'Organization',
            ifNoneExist: 'identifier=urn:oid:2.16.578.1.12.4.1.4.101|974589095',
          },
        },
        {
          resource: {
            resourceType: 'Practitioner',
            qualification: [
              { code: { text: 'x' }, issuer: { reference: 'urn:uuid:0b8a1fa8-5a0f-4c0a-a8f7-8f2d2f2f0002' } },
            ],
          },
          request: { method: 'POST', url: 'Practitioner' },
        },
      ]),
    );
    expect(again.body.entry[0].response.status).toBe('200 OK');
    expect(again.body.entry[1].resource.qualification[0].issuer.reference).toBe(`Organization/${orgId}`);
    expect(await count('Organization')).toBe(1);
  });

  it('is all or nothing: a failing entry leaves no change and names the entry', async () => {
    const before = await count('Patient');
    await t
      .http()
      .put('/fhir/Patient/keep-me')
      .set('Content-Type', FHIR_JSON)
      .send({ resourceType: 'Patient', id: 'keep-me', active: true });
    const res = await post(
      bundle('transaction', [
        {
          resource: { resourceType: 'Patient', name: [{ family: 'Ghost' }] },
          request: { method: 'POST', url: 'Patient' },
        },
        { request: { method: 'DELETE', url: 'Patient/keep-me' } },
        {
          resource: { resourceType: 'Patient', id: 'never-made', active: false },
          request: { method: 'PUT', url: 'Patient/never-made' },
        },
        { resource: { resourceType: 'Patient', colour: 'red' }, request: { method: 'POST', url: 'Patient' } },
      ]),
    );
    expect(res.status).toBe(422);
    expect(res.body.resourceType).toBe('OperationOutcome');
    expect(res.body.issue[0].expression[0]).toMatch(/^Bundle\.entry\[3\]/);
    expect(await count('Patient')).toBe(before + 1);
    const kept = await t.http().get('/fhir/Patient/keep-me');
    expect(kept.status).toBe(200);
    expect(kept.body.active).toBe(true);
    expect((await t.http().get('/fhir/Patient?family=Ghost')).body.total).toBe(0);
    expect((await t.http().get('/fhir/Patient/never-made')).status).toBe(404);
    // a stale If-Match in an entry is a 412 for the whole transaction
    const stale = await post(
      bundle('transaction', [
        {
          resource: { resourceType: 'Patient', id: 'keep-me' },
          request: { method: 'PUT', url: 'Patient/keep-me', ifMatch: 'W/"9"' },
        },
      ]),
    );
    expect(stale.status).toBe(412);
    // a reference to no entry of the transaction is refused
    const dangling = await post(
      bundle('transaction', [
        {
          resource: {
            resourceType: 'Observation',
            status: 'final',
            code: {},
            subject: { reference: 'urn:uuid:d8a5c3f6-0000-4000-8000-000000000000' },
          },
          request: { method: 'POST', url: 'Observation' },
        },
      ]),
    );
    expect(dangling.status).toBe(400);
    // a conditional reference matching nothing
    const nothing = await post(
      bundle('transaction', [
        {
          resource: {
            resourceType: 'Observation',
            status: 'final',
            code: {},
            subject: { reference: 'Patient?identifier=none|none' },
          },
          request: { method: 'POST', url: 'Observation' },
        },
      ]),
    );
    expect(nothing.status).toBe(404);
    expect(nothing.body.issue[0].expression[0]).toBe('Bundle.entry[0].resource');
  });

  it('processes DELETE, POST, PUT, GET in that order, answering in entry order', async () => {
    const mrn = { system: 'urn:test:mrn', value: 'order-1' };
    await t
      .http()
      .put('/fhir/Patient/order-old')
      .set('Content-Type', FHIR_JSON)
      .send({ resourceType: 'Patient', id: 'order-old', identifier: [mrn] });
    await t
      .http()
      .put('/fhir/Patient/order-put')
      .set('Content-Type', FHIR_JSON)
      .send({ resourceType: 'Patient', id: 'order-put', gender: 'male' });
    const res = await post(
      bundle('transaction', [
        { request: { method: 'GET', url: 'Patient/order-put' } },
        {
          resource: { resourceType: 'Patient', id: 'order-put', gender: 'female' },
          request: { method: 'PUT', url: 'Patient/order-put' },
        },
        {
          resource: { resourceType: 'Patient', identifier: [mrn] },
          request: { method: 'POST', url: 'Patient', ifNoneExist: 'identifier=urn:test:mrn|order-1' },
        },
        { request: { method: 'DELETE', url: 'Patient/order-old' } },
      ]),
    );
    expect(res.status).toBe(200);
    // the DELETE ran before the conditional create, which so found no match and created;
    // the GET ran last and saw the PUT
    expect(res.body.entry.map((e: { response: { status: string } }) => e.response.status)).toEqual([
      '200 OK',
      '200 OK',
      '201 Created',
      '204 No Content',
    ]);
    expect(res.body.entry[0].resource.gender).toBe('female');
    expect(res.body.entry[1].resource.meta.versionId).toBe('2');
    expect((await t.http().get('/fhir/Patient/order-old')).status).toBe(410);
  });

  it('fails when two writes have the same identity (R4 §3.1.0.11.2)', async () => {
    const res = await post(
      bundle('transaction', [
        { request: { method: 'DELETE', url: 'Patient/same' } },
        { resource: { resourceType: 'Patient', id: 'same' }, request: { method: 'PUT', url: 'Patient/same' } },
      ]),
    );
    expect(res.status).toBe(400);
    expect(res.body.issue[0].expression).toEqual(['Bundle.entry[1]']);
    expect((await t.http().get('/fhir/Patient/same')).status).toBe(404);
  });

  it('supports PATCH entries (JSON Patch in a Binary) and Prefer: return=minimal', async () => {
    await t
      .http()
      .put('/fhir/Patient/patch-me')
      .set('Content-Type', FHIR_JSON)
      .send({ resourceType: 'Patient', id: 'patch-me' });
    const ops = Buffer.from(JSON.stringify([{ op: 'add', path: '/active', value: true }])).toString('base64');
    const res = await post(
      bundle('transaction', [
        {
          resource: { resourceType: 'Binary', contentType: 'application/json-patch+json', data: ops },
          request: { method: 'PATCH', url: 'Patient/patch-me' },
        },
      ]),
      'return=minimal',
    );
    expect(res.status).toBe(200);
    expect(res.body.entry[0].resource).toBeUndefined();
    expect(res.body.entry[0].response.etag).toBe('W/"2"');
    expect((await t.http().get('/fhir/Patient/patch-me')).body.active).toBe(true);
  });

  it('refuses a Bundle of the wrong type, entries without request, and duplicate fullUrls', async () => {
    expect((await post({ resourceType: 'Bundle', type: 'collection', entry: [] })).status).toBe(400);
    expect((await post({ resourceType: 'Patient' })).status).toBe(400);
    const noRequest = await post({
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [{ resource: { resourceType: 'Patient' } }],
    });
    expect(noRequest.status).toBe(400);
    expect(noRequest.body.issue[0].expression).toEqual(['Bundle.entry[0].request']);
    const dup = await post(
      bundle('transaction', [
        {
          fullUrl: 'urn:uuid:11111111-1111-4111-8111-111111111111',
          resource: { resourceType: 'Patient' },
          request: { method: 'POST', url: 'Patient' },
        },
        {
          fullUrl: 'urn:uuid:11111111-1111-4111-8111-111111111111',
          resource: { resourceType: 'Patient' },
          request: { method: 'POST', url: 'Patient' },
        },
      ]),
    );
    expect(dup.status).toBe(400);
  });

  it('batch: entries succeed or fail on their own', async () => {
    const before = await count('Patient');
    const res = await post(
      bundle('batch', [
        {
          resource: { resourceType: 'Patient', name: [{ family: 'Batch' }] },
          request: { method: 'POST', url: 'Patient' },
        },
        { resource: { resourceType: 'Patient', colour: 'red' }, request: { method: 'POST', url: 'Patient' } },
        { request: { method: 'GET', url: 'Patient/not-there' } },
        { request: { method: 'GET', url: 'Patient?family=Batch' } },
        { request: { method: 'PUT', url: 'Patient/x' } } as Entry,
      ]),
    );
    expect(res.status).toBe(200);
    expect(res.body.type).toBe('batch-response');
    const statuses = res.body.entry.map((e: { response: { status: string } }) => e.response.status);
    expect(statuses).toEqual(['201 Created', '422 Unprocessable Entity', '404 Not Found', '200 OK', '400 Bad Request']);
    expect(res.body.entry[1].response.outcome.resourceType).toBe('OperationOutcome');
    expect(res.body.entry[3].resource.total).toBe(1);
    expect(await count('Patient')).toBe(before + 1);
  });
});
