import { beforeAll, describe, expect, it } from 'vitest';
import type { CarePlan } from '@medplum/fhirtypes';
import { PATHWAY_SYSTEM } from '../../src/pathways/plan.js';
import { BACKENDS } from '../support/backends.js';
import { FHIR_JSON, useServer } from '../support/server.js';
import { figures, journey, newPatient, putUnits, reportOf, useMeasures } from './support.js';

const MEASURE = 'assessment-within-pathway-time';
const YEAR = { periodStart: '2026', periodEnd: '2026' };

/**
 * A patient's report finds the patient's CarePlans by subject and keeps the pathways among them
 * (a Volven 9321 category and a period overlapping the measurement period), as the unit's and the
 * period's reports do from the search index.
 */
describe.each(BACKENDS)("a patient's report counts the patient's pathways of the period, on $name", (backend) => {
  const t = useServer(backend);
  useMeasures(t);
  let patient = '';
  let pathway: CarePlan;
  const post = async (carePlan: CarePlan) => {
    const res = await t.http().post('/fhir/CarePlan').set('Content-Type', FHIR_JSON).send(carePlan);
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    return res.body as CarePlan;
  };
  const others: CarePlan[] = [];
  beforeAll(async () => {
    await putUnits(t, ['unit-s']);
    patient = await newPatient(t);
    pathway = await journey(t, 'D11', { unit: 'unit-s', patient, start: '2026-01-05' }, [
      ['first-attendance', '2026-01-10'],
      ['clinical-decision', '2026-02-10'],
    ]);
    const plain = { resourceType: 'CarePlan', status: 'active', intent: 'plan', subject: { reference: patient } } as const;
    const category = [{ coding: [{ system: PATHWAY_SYSTEM, code: 'D11' }] }];
    // not a pathway (no 9321 category), a pathway without a period, a pathway of another year
    others.push(await post({ ...plain, period: { start: '2026-02-01' } }));
    others.push(await post({ ...plain, category }));
    others.push(await post({ ...plain, category, period: { start: '2024-01-01', end: '2024-12-31' } }));
  });

  it('counts the pathway and reads nothing of the other CarePlans', async () => {
    const report = await reportOf(t, MEASURE, { ...YEAR, subject: patient });
    expect(figures(report.group?.[0] ?? {})).toMatchObject({ 'initial-population': 1, numerator: 1 });
    const carePlans = (report.evaluatedResource ?? []).filter((r) => r.reference?.startsWith('CarePlan/'));
    expect(carePlans).toEqual([{ reference: `CarePlan/${pathway.id}` }]);
    for (const other of others) expect(carePlans).not.toContainEqual({ reference: `CarePlan/${other.id}` });
  });
});
