import { describe, expect, it } from 'vitest';
import { BACKENDS } from '../support/backends.js';
import { FHIR_JSON, useServer, type TestServer } from '../support/server.js';

const FNR = 'urn:oid:2.16.578.1.12.4.1.4.1';
const PATIENT_PROFILE = 'http://forlop.no/fhir/StructureDefinition/forlop-patient';
const invalid = { resourceType: 'Patient', identifier: [{ system: FNR, value: '15037012341' }] };
const warned = { resourceType: 'Patient', extension: [{ url: 'http://example.org/unknown', valueString: 'x' }] };

const send = (t: TestServer, method: 'post' | 'put', path: string, body: object, prefer?: string) => {
  const req = t.http()[method](`/fhir/${path}`).set('Content-Type', FHIR_JSON);
  return (prefer ? req.set('Prefer', prefer) : req).send(body);
};
const count = async (t: TestServer) => (await t.http().get('/fhir/Patient?_summary=count')).body.total as number;

describe.each(BACKENDS)('validation on write (strict, the default), on $name', (backend) => {
  const t = useServer(backend);

  it('create, update, conditional update and patch refuse a resource with errors: 422, the outcome names the element, nothing stored', async () => {
    const created = await send(t, 'post', 'Patient', invalid);
    expect(created.status).toBe(422);
    expect(created.body.resourceType).toBe('OperationOutcome');
    expect(created.body.issue[0]).toMatchObject({ severity: 'error', expression: ['Patient.identifier[0].value'] });
    expect((await send(t, 'put', 'Patient/w1', { ...invalid, id: 'w1' })).status).toBe(422);
    expect((await send(t, 'put', 'Patient?identifier=x|y', invalid)).status).toBe(422);
    expect(await count(t)).toBe(0);
    expect((await send(t, 'put', 'Patient/w1', { resourceType: 'Patient', id: 'w1', active: true })).status).toBe(201);
    const patched = await t
      .http()
      .patch('/fhir/Patient/w1')
      .set('Content-Type', 'application/json-patch+json')
      .send([{ op: 'add', path: '/birthDate', value: 'soon' }]);
    expect(patched.status).toBe(422);
    expect(patched.body.issue[0].expression).toEqual(['Patient.birthDate']);
    expect((await t.http().get('/fhir/Patient/w1')).body.meta.versionId).toBe('1');
  });

  it('a claimed profile is enforced on write', async () => {
    const res = await send(t, 'post', 'Patient', {
      resourceType: 'Patient',
      meta: { profile: [PATIENT_PROFILE] },
      identifier: [{ system: FNR, value: '13031353453' }],
    });
    expect(res.status).toBe(422);
    expect(res.body.issue.map((i: { expression: string[] }) => i.expression[0])).toEqual(['Patient.name']);
  });

  it('warnings do not refuse a write; Prefer: return=OperationOutcome shows them', async () => {
    const res = await send(t, 'post', 'Patient', warned, 'return=OperationOutcome');
    expect(res.status).toBe(201);
    expect(res.body.resourceType).toBe('OperationOutcome');
    expect(res.body.issue).toEqual([
      expect.objectContaining({ severity: 'warning', expression: ['Patient.extension[0]'] }),
    ]);
    const plain = await send(t, 'post', 'Patient', warned);
    expect(plain.status).toBe(201);
    expect(plain.body.resourceType).toBe('Patient');
  });

  it('a transaction with one invalid entry is refused whole, naming Bundle.entry[i].resource…', async () => {
    const before = await count(t);
    const res = await send(t, 'post', '', {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        { resource: { resourceType: 'Patient', active: true }, request: { method: 'POST', url: 'Patient' } },
        { resource: invalid, request: { method: 'POST', url: 'Patient' } },
      ],
    });
    expect(res.status).toBe(422);
    expect(res.body.issue[0].expression).toEqual(['Bundle.entry[1].resource.identifier[0].value']);
    expect(await count(t)).toBe(before);
  });

  it('a batch refuses only the invalid entry, with its outcome', async () => {
    const res = await send(t, 'post', '', {
      resourceType: 'Bundle',
      type: 'batch',
      entry: [
        { resource: { resourceType: 'Patient', active: true }, request: { method: 'POST', url: 'Patient' } },
        { resource: invalid, request: { method: 'POST', url: 'Patient' } },
      ],
    });
    expect(res.status).toBe(200);
    expect(res.body.entry.map((e: { response: { status: string } }) => e.response.status)).toEqual([
      '201 Created',
      '422 Unprocessable Entity',
    ]);
    expect(res.body.entry[1].response.outcome.issue[0].expression).toEqual([
      'Bundle.entry[1].resource.identifier[0].value',
    ]);
  });
});

describe.each(BACKENDS)('validation on write (lenient), on $name', (backend) => {
  const t = useServer(backend, { validationMode: 'lenient' });

  it('stores a resource with errors and reports them under Prefer: return=OperationOutcome', async () => {
    const res = await send(t, 'post', 'Patient', invalid, 'return=OperationOutcome');
    expect(res.status).toBe(201);
    expect(res.body.issue[0]).toMatchObject({ severity: 'error', expression: ['Patient.identifier[0].value'] });
    expect(await count(t)).toBe(1);
  });

  it('still refuses what is not a resource of the URL type', async () => {
    expect((await send(t, 'post', 'Patient', { resourceType: 'Observation' })).status).toBe(400);
  });
});
