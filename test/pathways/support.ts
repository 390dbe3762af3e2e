import { expect } from 'vitest';
import { personNumber } from '../support/norwegian-ids.js';
import { FHIR_JSON, type TestServer } from '../support/server.js';

let count = 0;

/**
 * A new patient (a synthetic fødselsnummer for the birth date) for one pathway test: NPR allows one
 * open pathway per patient (224), so tests that apply pathways do not share patients.
 */
export async function newPatient(t: TestServer, birthDate = '1990-03-15'): Promise<string> {
  const id = `pt-${++count}-${Math.random().toString(36).slice(2, 8)}`;
  const [y, m, d] = birthDate.split('-');
  const individ = Number(y) >= 2000 ? 500 + (count % 400) : 100 + (count % 300);
  const patient = {
    resourceType: 'Patient',
    id,
    name: [{ family: 'Testesen', given: [`Pasient ${count}`] }],
    birthDate,
    identifier: [{ system: 'urn:oid:2.16.578.1.12.4.1.4.1', value: personNumber(`${d}${m}${y.slice(2)}`, individ, 'synthetic') }],
  };
  const res = await t.http().put(`/fhir/Patient/${id}`).set('Content-Type', FHIR_JSON).send(patient);
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return `Patient/${id}`;
}
