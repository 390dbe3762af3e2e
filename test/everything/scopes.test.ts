import { beforeAll, describe, expect, it } from 'vitest';
import type { Bundle } from '@medplum/fhirtypes';
import { BACKENDS } from '../support/backends.js';
import { FHIR_JSON } from '../support/server.js';
import { makeKeys, signToken, useSecureServer, type Keys } from '../security/support.js';

let keys: Keys;
beforeAll(async () => {
  keys = await makeKeys();
});

const obs = (id: string, patient: string) => ({
  resourceType: 'Observation',
  id,
  status: 'final',
  code: { text: 'Puls' },
  subject: { reference: `Patient/${patient}` },
  performer: [{ reference: 'Practitioner/lege' }],
});
const FIXTURES = [
  {
    resourceType: 'Patient',
    id: 'anna',
    name: [{ family: 'Anna' }],
    managingOrganization: { reference: 'Organization/hf' },
  },
  { resourceType: 'Patient', id: 'bjorn', name: [{ family: 'Bjørn' }] },
  obs('obs-anna', 'anna'),
  obs('obs-bjorn', 'bjorn'),
  { resourceType: 'Practitioner', id: 'lege', name: [{ family: 'Lege' }] },
  { resourceType: 'Organization', id: 'hf', name: 'HF' },
];

const refs = (b: Bundle) =>
  (b.entry ?? []).filter((e) => e.resource?.id).map((e) => `${e.resource!.resourceType}/${e.resource!.id}`);

/** $everything under SMART scopes: a `patient/` token gets its own patient's record, at either level. */
describe.each(BACKENDS)('Patient everything with tokens, on $name', (backend) => {
  const t = useSecureServer(backend, () => keys);
  const as = async (scope: string, patient?: string) =>
    `Bearer ${await signToken(keys, { scope, ...(patient ? { patient } : {}) }, { now: t.clock.now() })}`;
  const get = async (url: string, auth: string) =>
    t
      .http()
      .get(`/fhir/${url}`)
      .query({ _count: 1000, _type: 'Patient,Observation,Practitioner,Organization' })
      .set('Authorization', auth);

  beforeAll(async () => {
    const entry = FIXTURES.map((resource) => ({
      resource,
      request: { method: 'PUT', url: `${resource.resourceType}/${resource.id}` },
    }));
    const res = await t
      .http()
      .post('/fhir')
      .set('Authorization', await as('system/*.cruds'))
      .set('Content-Type', FHIR_JSON)
      .send({ resourceType: 'Bundle', type: 'transaction', entry });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
  });

  it('at type level, a patient/ token gets only its own patient and what it refers to', async () => {
    const res = await get('Patient/$everything', await as('patient/*.rs', 'anna'));
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(refs(res.body as Bundle).sort()).toEqual([
      'Observation/obs-anna',
      'Organization/hf',
      'Patient/anna',
      'Practitioner/lege',
    ]);
  });

  it('without the scope, the type-level call sees every patient', async () => {
    const res = await get('Patient/$everything', await as('system/*.rs'));
    expect(res.status).toBe(200);
    expect(refs(res.body as Bundle)).toEqual(
      expect.arrayContaining(['Patient/anna', 'Patient/bjorn', 'Observation/obs-bjorn']),
    );
  });

  it('at instance level, another patient is not found and the own one is', async () => {
    const auth = await as('patient/*.rs', 'anna');
    expect((await get('Patient/bjorn/$everything', auth)).status).toBe(404);
    const own = await get('Patient/anna/$everything', auth);
    expect(own.status).toBe(200);
    expect(JSON.stringify(own.body)).not.toContain('bjorn');
  });

  it('leaves out the types the token does not reach, and needs the Patient itself', async () => {
    const res = await get('Patient/anna/$everything', await as('user/Patient.rs'));
    expect(res.status).toBe(200);
    expect(refs(res.body as Bundle)).toEqual(['Patient/anna']);
    expect((await get('Patient/anna/$everything', await as('user/Observation.rs'))).status).toBe(403);
  });
});
