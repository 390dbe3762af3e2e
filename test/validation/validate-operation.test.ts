import { describe, expect, it } from 'vitest';
import { BACKENDS } from '../support/backends.js';
import { FHIR_JSON, useServer } from '../support/server.js';
import { at, expectValid } from './support.js';

const PATIENT_PROFILE = 'http://forlop.no/fhir/StructureDefinition/forlop-patient';
const good = {
  resourceType: 'Patient',
  id: 'v1',
  name: [{ family: 'Dahl' }],
  identifier: [{ system: 'urn:oid:2.16.578.1.12.4.1.4.1', value: '13031353453' }],
};
const bad = { resourceType: 'Patient', birthDate: 'tomorrow' };

/** `$validate` (R4 §2.38.0, Resource-validate): every form, always 200 with an OperationOutcome. */
describe.each(BACKENDS)('$validate, on $name', (backend) => {
  const t = useServer(backend);
  const post = (path: string, body: object) => t.http().post(`/fhir/${path}`).set('Content-Type', FHIR_JSON).send(body);
  const issues = (res: { status: number; body: { resourceType: string; issue: never[] } }) => {
    expect(res.status).toBe(200);
    expect(res.body.resourceType).toBe('OperationOutcome');
    return res.body.issue;
  };
  const params = (...parameter: object[]) => ({ resourceType: 'Parameters', parameter });

  it('type level: the resource posted directly, or as the resource parameter', async () => {
    expectValid(issues(await post('Patient/$validate', good)));
    expect(at(issues(await post('Patient/$validate', bad)))).toEqual(['Patient.birthDate']);
    expect(at(issues(await post('Patient/$validate', params({ name: 'resource', resource: bad }))))).toEqual([
      'Patient.birthDate',
    ]);
  });

  it('the profile parameter validates against a profile of ours (in Parameters or the query)', async () => {
    const unnamed = {
      resourceType: 'Patient',
      identifier: [{ system: 'urn:oid:2.16.578.1.12.4.1.4.1', value: '13031353453' }],
    };
    expectValid(issues(await post('Patient/$validate', unnamed)));
    expect(
      at(
        issues(
          await post(
            'Patient/$validate',
            params({ name: 'resource', resource: unnamed }, { name: 'profile', valueUri: PATIENT_PROFILE }),
          ),
        ),
      ),
    ).toEqual(['Patient.name']);
    expect(at(issues(await post(`Patient/$validate?profile=${encodeURIComponent(PATIENT_PROFILE)}`, unnamed)))).toEqual(
      ['Patient.name'],
    );
  });

  it('instance level: GET validates the stored resource; POST validates the one given', async () => {
    expect((await t.http().put('/fhir/Patient/v1').set('Content-Type', FHIR_JSON).send(good)).status).toBe(201);
    expectValid(issues(await t.http().get('/fhir/Patient/v1/$validate')));
    expect(
      at(
        issues(
          await t.http().get(`/fhir/Patient/v1/$validate?profile=${encodeURIComponent('http://example.org/none')}`),
        ),
      ),
    ).toEqual(['Patient']);
    expect(at(issues(await post('Patient/v1/$validate', { ...bad, id: 'v1' })))).toEqual(['Patient.birthDate']);
    const unknown = await t.http().get('/fhir/Patient/nobody/$validate');
    expect(unknown.status).toBe(404);
    expect(unknown.body.resourceType).toBe('OperationOutcome');
  });

  it('mode=create, update and delete', async () => {
    expectValid(issues(await post('Patient/$validate?mode=create', { ...good, id: undefined })));
    // an update needs the id of the instance it updates
    expect(at(issues(await post('Patient/v1/$validate?mode=update', { ...good, id: 'other' })))).toEqual([
      'Patient.id',
    ]);
    expect(at(issues(await post('Patient/$validate?mode=update', { ...good, id: undefined })))).toEqual(['Patient.id']);
    expectValid(issues(await post('Patient/v1/$validate?mode=update', good)));
    const del = issues(await post('Patient/v1/$validate', params({ name: 'mode', valueCode: 'delete' })));
    expect(del).toEqual([expect.objectContaining({ severity: 'information' })]);
    expect((await post('Patient/$validate', params({ name: 'mode', valueCode: 'delete' }))).status).toBe(400);
    const unknownMode = await post('Patient/$validate?mode=sideways', good);
    expect(unknownMode.status).toBe(400);
    expect(unknownMode.body.issue[0].expression).toEqual(['mode']);
  });

  it('a resource of another type than the URL is an error in the outcome; no resource at all is a 400', async () => {
    expect(at(issues(await post('Observation/$validate', good)))).toEqual(['resourceType']);
    const none = await post('Patient/$validate', params());
    expect(none.status).toBe(400);
    expect(none.body.issue[0].expression).toEqual(['resource']);
  });

  it('validating stores nothing', async () => {
    await post('Patient/$validate', { ...good, id: 'never-stored' });
    expect((await t.http().get('/fhir/Patient/never-stored')).status).toBe(404);
  });

  it('the CapabilityStatement lists $validate and the profiles of ours', async () => {
    const cs = (await t.http().get('/fhir/metadata')).body;
    const patient = cs.rest[0].resource.find((r: { type: string }) => r.type === 'Patient');
    expect(patient.operation).toContainEqual({
      name: 'validate',
      definition: 'http://hl7.org/fhir/OperationDefinition/Resource-validate',
    });
    expect(patient.supportedProfile).toContain(PATIENT_PROFILE);
  });
});
