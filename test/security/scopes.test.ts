import { beforeAll, describe, expect, it } from 'vitest';
import type { Bundle } from '@medplum/fhirtypes';
import { BACKENDS } from '../support/backends.js';
import { FHIR_JSON } from '../support/server.js';
import { makeKeys, signToken, useSecureServer, type Keys } from './support.js';

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
});
const FIXTURES = [
  { resourceType: 'Patient', id: 'anna', name: [{ family: 'Anna' }] },
  { resourceType: 'Patient', id: 'bjorn', name: [{ family: 'Bjørn' }] },
  obs('obs-anna', 'anna'),
  obs('obs-bjorn', 'bjorn'),
  { resourceType: 'Practitioner', id: 'lege', name: [{ family: 'Lege' }] },
];

type Row = [
  scope: string,
  patient: string | undefined,
  method: 'GET' | 'POST' | 'PUT' | 'DELETE',
  url: string,
  body: unknown,
  status: number,
];
const newObs = (patient: string) => ({
  resourceType: 'Observation',
  status: 'final',
  code: { text: 'Vekt' },
  subject: { reference: `Patient/${patient}` },
});

/**
 * Scope × interaction → status. SMART v2 (`cruds`) and v1 (`read`/`write`) forms; `patient/` scopes
 * kept to the launch patient's compartment (another patient's resources are 404, as if absent).
 */
const TABLE: Row[] = [
  // system/*.rs: read and search everything, write nothing
  ['system/*.rs', undefined, 'GET', 'Patient/anna', undefined, 200],
  ['system/*.rs', undefined, 'GET', 'Observation?subject=Patient/bjorn', undefined, 200],
  ['system/*.rs', undefined, 'GET', '_history', undefined, 200],
  ['system/*.rs', undefined, 'POST', 'Observation', newObs('anna'), 403],
  ['system/*.rs', undefined, 'PUT', 'Patient/anna', FIXTURES[0], 403],
  ['system/*.rs', undefined, 'DELETE', 'Observation/obs-anna', undefined, 403],
  // system/*.cruds: everything
  ['system/*.cruds', undefined, 'POST', 'Observation', newObs('bjorn'), 201],
  ['system/*.cruds', undefined, 'PUT', 'Practitioner/lege', FIXTURES[4], 200],
  // user/CarePlan.cru-style narrow grants
  ['user/Patient.r', undefined, 'GET', 'Patient/anna', undefined, 200],
  ['user/Patient.r', undefined, 'GET', 'Patient', undefined, 403],
  ['user/Patient.r', undefined, 'GET', 'Observation/obs-anna', undefined, 403],
  ['user/Patient.r', undefined, 'GET', 'Patient/anna/_history', undefined, 200],
  ['user/Patient.r', undefined, 'GET', 'Patient/_history', undefined, 403],
  ['user/Observation.cru', undefined, 'POST', 'Observation', newObs('anna'), 201],
  ['user/Observation.cru', undefined, 'DELETE', 'Observation/obs-bjorn', undefined, 403],
  ['user/Observation.cru', undefined, 'GET', 'Observation', undefined, 403],
  ['user/Observation.cru', undefined, 'POST', 'Patient', { resourceType: 'Patient' }, 403],
  ['user/Observation.rs', undefined, 'GET', 'Observation?subject.name=Anna', undefined, 403], // chain into Patient
  ['user/Observation.rs user/Patient.s', undefined, 'GET', 'Observation?subject.name=Anna', undefined, 200],
  ['user/Observation.rs?category=vital-signs', undefined, 'GET', 'Observation', undefined, 403], // granular: not evaluated, so no grant
  // SMART v1 forms
  ['user/*.read', undefined, 'GET', 'Observation', undefined, 200],
  ['user/*.read', undefined, 'POST', 'Observation', newObs('anna'), 403],
  ['user/*.write', undefined, 'POST', 'Observation', newObs('anna'), 201],
  ['user/*.write', undefined, 'GET', 'Observation/obs-anna', undefined, 403],
  ['patient/Observation.read', 'anna', 'GET', 'Observation/obs-anna', undefined, 200],
  ['user/*.*', undefined, 'DELETE', 'Practitioner/nobody', undefined, 204],
  // patient/ scopes: the launch patient's compartment only
  ['patient/*.rs', 'anna', 'GET', 'Patient/anna', undefined, 200],
  ['patient/*.rs', 'anna', 'GET', 'Patient/bjorn', undefined, 404],
  ['patient/*.rs', 'anna', 'GET', 'Observation/obs-anna', undefined, 200],
  ['patient/*.rs', 'anna', 'GET', 'Observation/obs-bjorn', undefined, 404],
  ['patient/*.rs', 'anna', 'GET', 'Observation/obs-bjorn/_history', undefined, 404],
  ['patient/*.rs', 'anna', 'GET', 'Patient/bjorn/Observation', undefined, 404],
  ['patient/*.rs', 'anna', 'GET', 'Practitioner/lege', undefined, 200], // shared reference data
  ['patient/*.rs', 'anna', 'GET', '_history', undefined, 403],
  ['patient/*.rs', 'anna', 'GET', 'Observation/_history', undefined, 403],
  ['patient/*.rs', undefined, 'GET', 'Patient/anna', undefined, 403], // no patient in the launch context
  ['patient/*.cruds', 'anna', 'POST', 'Observation', newObs('anna'), 201],
  ['patient/*.cruds', 'anna', 'POST', 'Observation', newObs('bjorn'), 403],
  ['patient/*.cruds', 'anna', 'PUT', 'Observation/obs-bjorn', obs('obs-bjorn', 'anna'), 404], // no taking over another's
  ['patient/*.cruds', 'anna', 'DELETE', 'Observation/obs-bjorn', undefined, 404],
  ['patient/*.cruds', 'anna', 'PUT', 'Practitioner/lege', FIXTURES[4], 403],
  ['patient/*.cruds', 'anna', 'POST', '$evaluate-deadlines', { resourceType: 'Parameters' }, 403],
  [
    'system/Task.u system/DetectedIssue.c',
    undefined,
    'POST',
    '$evaluate-deadlines',
    { resourceType: 'Parameters' },
    200,
  ],
  [
    'user/Patient.r',
    undefined,
    'POST',
    'Patient/$validate',
    { resourceType: 'Parameters', parameter: [{ name: 'resource', resource: { resourceType: 'Patient' } }] },
    200,
  ],
  ['user/Patient.r', undefined, 'POST', '$reindex', { resourceType: 'Parameters' }, 403],
  ['openid fhirUser', undefined, 'GET', 'Patient/anna', undefined, 403],
];

describe.each(BACKENDS)('SMART scopes on every interaction, on $name', (backend) => {
  const t = useSecureServer(backend, () => keys);
  const as = async (scope: string, patient?: string) =>
    `Bearer ${await signToken(keys, { scope, ...(patient ? { patient } : {}) }, { now: t.clock.now() })}`;
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
    expect(res.status).toBe(200);
  });

  it.each(TABLE)('%s (patient %s): %s %s → %i', async (scope, patient, method, url, body, status) => {
    let req = t
      .http()
      [method.toLowerCase() as 'get'](`/fhir/${url}`)
      .set('Authorization', await as(scope, patient));
    if (body !== undefined) req = req.set('Content-Type', FHIR_JSON).send(body as object);
    const res = await req;
    expect(res.status, JSON.stringify(res.body).slice(0, 500)).toBe(status);
    if (status === 403 || status === 404) {
      expect(res.body.resourceType).toBe('OperationOutcome');
      // no existence hint: the answer names neither the other patient's data nor a count
      expect(JSON.stringify(res.body)).not.toMatch(/Puls|Bjørn|"total"/);
    }
  });

  it('a patient-scoped search sees only its patient: matches, totals and includes', async () => {
    const auth = await as('patient/*.rs', 'anna');
    const all = await t
      .http()
      .get('/fhir/Observation')
      .query({ _total: 'accurate', _include: 'Observation:subject' })
      .set('Authorization', auth);
    expect(all.status).toBe(200);
    const subjects = (all.body as Bundle).entry
      ?.filter((e) => e.search?.mode === 'match')
      .map((e) => (e.resource as { subject: { reference: string } }).subject.reference);
    expect(new Set(subjects)).toEqual(new Set(['Patient/anna']));
    expect(all.body.total).toBe(subjects?.length);
    expect((all.body as Bundle).entry?.filter((e) => e.search?.mode === 'include').map((e) => e.resource?.id)).toEqual([
      'anna',
    ]);
    const patients = await t.http().get('/fhir/Patient').query({ _total: 'accurate' }).set('Authorization', auth);
    expect(patients.body.total).toBe(1);
    // the limit is the server's: it does not appear in the self link
    expect(JSON.stringify(all.body.link)).not.toContain('_compartment');
  });

  it('_include and _revinclude never bring in a type the token may not read', async () => {
    const res = await t
      .http()
      .get('/fhir/Patient')
      .query({ _id: 'anna', _revinclude: 'Observation:subject' })
      .set('Authorization', await as('user/Patient.rs'));
    expect(res.status).toBe(200);
    expect(res.body.entry.map((e: { resource: { resourceType: string } }) => e.resource.resourceType)).toEqual([
      'Patient',
    ]);
    const both = await t
      .http()
      .get('/fhir/Patient')
      .query({ _id: 'anna', _revinclude: 'Observation:subject' })
      .set('Authorization', await as('user/Patient.rs user/Observation.r'));
    expect(both.body.entry.map((e: { resource: { resourceType: string } }) => e.resource.resourceType)).toContain(
      'Observation',
    );
  });

  it('inside a transaction, one forbidden entry refuses the whole transaction; in a batch, only that entry', async () => {
    const entry = [
      { resource: newObs('anna'), request: { method: 'POST', url: 'Observation' } },
      {
        resource: { resourceType: 'Practitioner', name: [{ family: 'Ny' }] },
        request: { method: 'POST', url: 'Practitioner' },
      },
    ];
    const auth = await as('user/Observation.cruds');
    const before = (await t.http().get('/fhir/Observation').query({ _summary: 'count' }).set('Authorization', auth))
      .body.total;
    const tx = await t
      .http()
      .post('/fhir')
      .set('Authorization', auth)
      .set('Content-Type', FHIR_JSON)
      .send({ resourceType: 'Bundle', type: 'transaction', entry });
    expect(tx.status).toBe(403);
    expect(tx.body.issue[0].expression).toEqual(['Bundle.entry[1]']);
    expect(
      (await t.http().get('/fhir/Observation').query({ _summary: 'count' }).set('Authorization', auth)).body.total,
    ).toBe(before);
    const batch = await t
      .http()
      .post('/fhir')
      .set('Authorization', auth)
      .set('Content-Type', FHIR_JSON)
      .send({
        resourceType: 'Bundle',
        type: 'batch',
        entry: [...entry, { request: { method: 'GET', url: 'Patient/anna' } }],
      });
    expect(batch.body.entry.map((e: { response: { status: string } }) => e.response.status.slice(0, 3))).toEqual([
      '201',
      '403',
      '403',
    ]);
  });

  it('a patient-scoped transaction cannot reach another patient through a conditional reference or create', async () => {
    const auth = await as('patient/*.cruds', 'anna');
    const res = await t
      .http()
      .post('/fhir')
      .set('Authorization', auth)
      .set('Content-Type', FHIR_JSON)
      .send({
        resourceType: 'Bundle',
        type: 'transaction',
        entry: [
          {
            resource: { ...newObs('x'), subject: { reference: 'Patient?_id=bjorn' } },
            request: { method: 'POST', url: 'Observation' },
          },
        ],
      });
    expect(res.status).toBe(404); // bjorn is not found from anna's compartment
    const cond = await t
      .http()
      .post('/fhir/Observation')
      .set('Authorization', auth)
      .set('If-None-Exist', '_id=obs-bjorn')
      .set('Content-Type', FHIR_JSON)
      .send(newObs('anna'));
    expect(cond.status).toBe(201); // the match outside the compartment is invisible, so a new one is made
  });
});
