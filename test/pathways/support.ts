import { beforeAll, expect } from 'vitest';
import type { CarePlan, Task } from '@medplum/fhirtypes';
import { loadPathways } from '../../src/pathways/loader.js';
import { personNumber } from '../support/norwegian-ids.js';
import { FHIR_JSON, type TestServer } from '../support/server.js';
import { useTerminology } from '../terminology/support.js';

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

/** The shipped terminology and pathways loaded into the test server, as `startServer` loads them. */
export function usePathways(t: TestServer): void {
  useTerminology(t);
  beforeAll(async () => {
    await loadPathways(t.services);
  });
}

/** `GET PlanDefinition/pathway-[code]/$apply` with these parameters. */
export function applyPathway(t: TestServer, code: string, params: Record<string, string>) {
  return t.http().get(`/fhir/PlanDefinition/pathway-${code}/$apply`).query(params);
}

/** The Task of one action of a pathway, found by its `[CarePlan id]/[action id]` identifier. */
export async function milestone(t: TestServer, carePlan: CarePlan, actionId: string): Promise<Task> {
  const res = await t.http().get('/fhir/Task').query({ identifier: `http://forlop.no/fhir/NamingSystem/pathway-action|${carePlan.id}/${actionId}` });
  return res.body.entry[0].resource as Task;
}

/** PUTs a milestone's Task as completed over `period` (a date, or a period); returns the response. */
export async function completeMilestone(t: TestServer, carePlan: CarePlan, actionId: string, period: string | { start: string; end: string }, more: object = {}) {
  const task = await milestone(t, carePlan, actionId);
  const executionPeriod = typeof period === 'string' ? { start: period, end: period } : period;
  return t.http().put(`/fhir/Task/${task.id}`).set('Content-Type', FHIR_JSON).send({ ...task, status: 'completed', executionPeriod, ...more });
}
