import { readdirSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Measure, MeasureReport } from '@medplum/fhirtypes';
import { MEASURES_DIR } from '../../src/measures/loader.js';
import { parallel } from '../../src/measures/parallel.js';
import { BACKENDS } from '../support/backends.js';
import { FHIR_JSON, useServer } from '../support/server.js';
import { journey, newPatient, putUnits, referral, reportOf, useMeasures } from './support.js';

const SHIPPED = readdirSync(MEASURES_DIR)
  .filter((f) => f.endsWith('.json'))
  .map((f) => f.replace(/^Measure-|\.json$/g, ''));
const YEAR = { periodStart: '2026', periodEnd: '2026' };
const T1 = { periodStart: '2026-01', periodEnd: '2026-04' };
const QUERIES: Record<string, string>[] = [
  YEAR,
  { ...T1, reportType: 'subject-list' },
  { ...YEAR, subject: 'Organization/unit-p' },
  { ...T1, practitioner: 'coord-p' },
];

/** The same report with the pathways evaluated in this thread, then in the evaluation worker. */
async function bothWays(run: () => Promise<MeasureReport>): Promise<[MeasureReport, MeasureReport]> {
  parallel.from = Number.POSITIVE_INFINITY;
  const here = await run();
  parallel.from = 0;
  const there = await run();
  return [here, there];
}

/**
 * Large evaluations parse and evaluate the pathways in a worker thread while the main thread reads
 * (src/measures/parallel.ts): the reports must be the ones a single thread makes, for every shipped
 * Measure, report type and scope, and a Measure's error must be the same 422.
 */
describe.each(BACKENDS)('evaluation in the worker thread, on $name', (backend) => {
  const t = useServer(backend);
  useMeasures(t);
  const from = parallel.from;
  afterAll(() => {
    parallel.from = from;
  });
  beforeAll(async () => {
    await putUnits(t, ['unit-p', 'unit-q'], ['coord-p']);
    const p = { unit: 'unit-p', practitioner: 'coord-p' };
    const decided = (outcome: string): [string, string, [string, string]][] => [
      ['first-attendance', '2026-01-10', undefined as never],
      ['clinical-decision', '2026-02-01', ['9323', outcome]],
    ];
    await journey(t, 'D11', { ...p, start: '2026-01-05' }, [
      ['first-attendance', '2026-01-10'],
      ['clinical-decision', '2026-02-10'],
      ['first-evaluation', '2026-03-01'],
    ]);
    await journey(t, 'D11', { ...p, start: '2026-01-05' }, [
      ...decided('P'),
      ['activity', '2026-02-10', ['9325', 'U']],
      ['end', '2026-04-10', ['9326', 'G']],
    ]);
    await journey(t, 'D01', { ...p, start: '2026-02-02', setting: 'IMP' }, [
      ['detox-finished', '2026-02-05'],
      ['treatment-after-detox', '2026-02-06'],
    ]);
    await journey(t, 'D08', { unit: 'unit-q', start: '2026-01-05', severity: 'alvorlig' }, [
      ['first-attendance', '2026-01-09'],
      ['clinical-decision', '2026-02-10'],
    ]);
    await journey(t, 'D06', { unit: 'unit-q', start: '2026-03-02' }, [['first-attendance', '2026-03-16']]);
    await journey(t, 'D07', { ...p, start: '2026-01-05' }, [['first-attendance', '2026-02-10']]);
    await journey(t, 'D11', { unit: 'unit-q', start: '2026-01-05' }, [...decided('T'), ['end', '2026-05-10', ['9326', 'O']]]);
    const patient = await newPatient(t);
    await journey(t, 'D11', { unit: 'unit-q', patient, start: '2026-03-20', referral: await referral(t, patient, '2026-03-02') });
  });

  it('gives the report one thread gives, for every shipped Measure, report type and scope', async () => {
    for (const measure of SHIPPED)
      for (const query of QUERIES) {
        const [here, there] = await bothWays(() => reportOf(t, measure, query));
        expect(there.group, `${measure} ${JSON.stringify(query)}`).toEqual(here.group);
        expect(there.contained).toEqual(here.contained);
        expect(here.group?.[0]?.population?.[0]?.count, measure).toBeGreaterThanOrEqual(0);
      }
    // the cohort is counted at all: not two empty reports alike
    const [here] = await bothWays(() => reportOf(t, 'pathways-in-period', YEAR));
    expect(here.group?.[0]?.population?.[0]?.count).toBe(8);
  });

  it("gives a Measure's error as one thread does: the 422 at the criterion, naming the CarePlan", async () => {
    const measure = (await t.http().get('/fhir/Measure/assessment-within-pathway-time')).body as Measure;
    const broken: Measure = { ...measure, id: 'broken-in-worker', url: 'http://forlop.no/fhir/Measure/broken-in-worker' };
    delete broken.meta;
    const numerator = broken.group?.[0]?.population?.find((p) => p.code?.coding?.[0]?.code === 'numerator');
    if (numerator?.criteria) numerator.criteria.expression = '%eventDate';
    const put = await t.http().put('/fhir/Measure/broken-in-worker').set('Content-Type', FHIR_JSON).send(broken);
    expect(put.status).toBe(201);
    const get = () => t.http().get('/fhir/Measure/broken-in-worker/$evaluate-measure').query(YEAR);
    parallel.from = Number.POSITIVE_INFINITY;
    const here = await get();
    parallel.from = 0;
    const there = await get();
    expect(here.status).toBe(422);
    expect(there.status).toBe(422);
    expect(there.body).toEqual(here.body);
    expect(here.body.issue[0].expression).toEqual(['Measure.group[0].population[3].criteria.expression']);
  });
});
