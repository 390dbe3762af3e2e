import { beforeAll, expect } from 'vitest';
import type { CarePlan, Task } from '@medplum/fhirtypes';
import { loadPathways } from '../../src/pathways/loader.js';
import { personNumber } from '../support/norwegian-ids.js';
import { FHIR_JSON, type TestServer } from '../support/server.js';
import { useTerminology } from '../terminology/support.js';

let count = 0;
const issued = new Set<string>();

/**
 * A new patient (a synthetic fødselsnummer for the birth date) for one pathway test: NPR allows one
 * open pathway per patient (224), so tests that apply pathways do not share patients.
 */
export async function newPatient(t: TestServer, birthDate = '1990-03-15'): Promise<string> {
  const id = `pt-${++count}-${Math.random().toString(36).slice(2, 8)}`;
  const [y, m, d] = birthDate.split('-');
  // one person, one Patient: a number already given (personNumber skips to the next valid one) is not reused
  let individ = Number(y) >= 2000 ? 500 + (count % 400) : 250 + (count % 250);
  while (issued.has(personNumber(`${d}${m}${y.slice(2)}`, individ, 'synthetic'))) individ++;
  issued.add(personNumber(`${d}${m}${y.slice(2)}`, individ, 'synthetic'));
  const patient = {
    resourceType: 'Patient',
    id,
    name: [{ family: 'Testesen', given: [`Pasient ${count}`] }],
    birthDate,
    identifier: [
      { system: 'urn:oid:2.16.578.1.12.4.1.4.1', value: personNumber(`${d}${m}${y.slice(2)}`, individ, 'synthetic') },
    ],
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

/** The unit that reports the test pathways (an $apply without `organization` is refused unless a default is set). */
export const TEST_UNIT = 'Organization/test-unit';
const units = new WeakSet<TestServer>();

/** The test unit, stored once per server; returns its reference. */
export async function ensureUnit(t: TestServer): Promise<string> {
  if (units.has(t)) return TEST_UNIT;
  const unit = { resourceType: 'Organization', id: 'test-unit', name: 'Testenheten, DPS' };
  const res = await t.http().put('/fhir/Organization/test-unit').set('Content-Type', FHIR_JSON).send(unit);
  expect([200, 201], JSON.stringify(res.body)).toContain(res.status);
  units.add(t);
  return TEST_UNIT;
}

/**
 * `POST PlanDefinition/pathway-[code]/$apply` with these parameters in the query (POST only: it records
 * a pathway), reported by the test unit unless `organization` is given.
 */
export async function applyPathway(t: TestServer, code: string, params: Record<string, string>) {
  if (!('organization' in params)) await ensureUnit(t);
  const query = 'organization' in params ? params : { organization: TEST_UNIT, ...params };
  return t.http().post(`/fhir/PlanDefinition/pathway-${code}/$apply`).query(query);
}

/** The Task of one action of a pathway, found by its `[CarePlan id]/[action id]` identifier. */
export async function milestone(t: TestServer, carePlan: CarePlan, actionId: string): Promise<Task> {
  const res = await t
    .http()
    .get('/fhir/Task')
    .query({ identifier: `http://forlop.no/fhir/NamingSystem/pathway-action|${carePlan.id}/${actionId}` });
  return res.body.entry[0].resource as Task;
}

/** A coded outcome of a milestone (Task.output), from one of the outcome code systems (Volven 9323–9328). */
export function outcomeOf(system: string, code: string) {
  return {
    type: { text: 'Utfall' },
    valueCodeableConcept: { coding: [{ system: `urn:oid:2.16.578.1.12.4.1.1.${system}`, code }] },
  };
}

/** An outcome every pathway has, for the events whose NPR code needs one (C, S, U, H, X). */
const TYPICAL_OUTCOME: Record<string, [string, string]> = {
  C: ['9323', 'P'],
  S: ['9324', 'M'],
  U: ['9325', 'U'],
  H: ['9328', 'P'],
  X: ['9326', 'G'],
};

/** PUTs a milestone's Task as completed over `period` (a date, or a period); returns the response. */
export async function completeMilestone(
  t: TestServer,
  carePlan: CarePlan,
  actionId: string,
  period: string | { start: string; end: string },
  more: object = {},
) {
  const task = await milestone(t, carePlan, actionId);
  const executionPeriod = typeof period === 'string' ? { start: period, end: period } : period;
  const event = task.code?.coding?.[0]?.code ?? '';
  const outcome = 'output' in more || !TYPICAL_OUTCOME[event] ? {} : { output: [outcomeOf(...TYPICAL_OUTCOME[event])] };
  const body = { ...task, status: 'completed', executionPeriod, ...outcome, ...more };
  return t.http().put(`/fhir/Task/${task.id}`).set('Content-Type', FHIR_JSON).send(body);
}
