import { beforeAll, describe, expect, it } from 'vitest';
import type { Measure } from '@medplum/fhirtypes';
import { BACKENDS } from '../support/backends.js';
import { BASE, FHIR_JSON, useServer } from '../support/server.js';
import { figures, journey, newPatient, putUnits, referral, reportOf, strata, useMeasures } from './support.js';

const T1 = { periodStart: '2026-01', periodEnd: '2026-04' };
const of = (unit: string, period: Record<string, string> = T1) => ({ ...period, subject: `Organization/${unit}` });

/**
 * The other shipped indicators, each on a cohort of its own unit, figures computed by hand. Pathway
 * times (PlanDefinitions): D01 C 21 (AMB) / 7 (IMP) days from M, E 7 from C; D08 M 7 (alvorlig) / 28
 * (mindre alvorlig) from the start, C 42 from M, E 28 from C; D06 M 7 from the start; D11 C 42 from
 * the start and no time for E.
 */
describe.each(BACKENDS)('the shipped indicators on golden cohorts, on $name', (backend) => {
  const t = useServer(backend);
  useMeasures(t);
  beforeAll(async () => {
    await putUnits(t, ['unit-e', 'unit-f', 'unit-d', 'unit-t', 'unit-r']);
    // first evaluation (unit-e), all AMB but e3
    const e = { unit: 'unit-e' };
    await journey(t, 'D01', { ...e, start: '2026-02-02' }, [
      ['first-attendance', '2026-02-03'],
      ['clinical-decision', '2026-02-16'],
      ['first-evaluation', '2026-02-20'], // due 02-23: within
    ]);
    await journey(t, 'D01', { ...e, start: '2026-02-02' }, [
      ['first-attendance', '2026-02-04'],
      ['clinical-decision', '2026-02-10'],
      ['first-evaluation', '2026-02-20'], // due 02-17: late
    ]);
    await journey(t, 'D01', { ...e, start: '2026-02-02', setting: 'IMP' }, [
      ['first-attendance', '2026-02-03'],
      ['clinical-decision', '2026-02-06'],
      ['first-evaluation', '2026-02-10'], // inpatient: not counted
    ]);
    await journey(t, 'D11', { ...e, start: '2026-01-05' }, [
      ['first-attendance', '2026-01-10'],
      ['clinical-decision', '2026-02-01'],
      ['first-evaluation', '2026-03-01'], // D11 has no time for E: an exception
    ]);
    await journey(t, 'D08', { ...e, start: '2026-01-05', severity: 'alvorlig' }, [
      ['first-attendance', '2026-01-09'],
      ['clinical-decision', '2026-02-10'],
      ['first-evaluation', '2026-03-05'], // due 03-10: within
    ]);
    // first attendance (unit-f): D08 by severity, D06
    const f = { unit: 'unit-f' };
    await journey(t, 'D08', { ...f, start: '2026-01-05', severity: 'mindre-alvorlig' }, [
      ['first-attendance', '2026-01-30'],
    ]);
    await journey(t, 'D08', { ...f, start: '2026-02-02', severity: 'alvorlig' }, [['first-attendance', '2026-02-12']]);
    await journey(t, 'D08', { ...f, start: '2026-01-05', severity: 'alvorlig' }, [['first-attendance', '2026-01-09']]);
    await journey(t, 'D06', { ...f, start: '2026-03-02' }, [['first-attendance', '2026-03-06']]);
    await journey(t, 'D06', { ...f, start: '2026-03-02' }, [['first-attendance', '2026-03-16']]);
    await journey(t, 'D07', { ...f, start: '2026-01-05' }, [['first-attendance', '2026-02-10']]); // due 02-16
    await journey(t, 'D07', { ...f, start: '2026-01-05' }, [['first-attendance', '2026-02-20']]);
    // treatment after detox (unit-d): D01 3 days (AMB) or 0 (IMP), D09 0
    const d = { unit: 'unit-d' };
    await journey(t, 'D01', { ...d, start: '2026-02-02' }, [
      ['detox-finished', '2026-02-05'],
      ['treatment-after-detox', '2026-02-07'],
    ]);
    await journey(t, 'D01', { ...d, start: '2026-02-02', setting: 'IMP' }, [
      ['detox-finished', '2026-02-05'],
      ['treatment-after-detox', '2026-02-06'],
    ]);
    await journey(t, 'D09', { ...d, start: '2026-02-02' }, [
      ['detox-finished', '2026-02-05'],
      ['treatment-after-detox', '2026-02-05'],
    ]);
    // treatment plan made with the patient (unit-t): pathways ended, after a decision of treatment
    const h = { unit: 'unit-t' };
    const decided = (outcome: string): [string, string, [string, string]][] => [
      ['first-attendance', '2026-01-10', undefined as never],
      ['clinical-decision', '2026-02-01', ['9323', outcome]],
    ];
    await journey(t, 'D11', { ...h, start: '2026-01-05' }, [
      ...decided('P'),
      ['activity', '2026-02-10', ['9325', 'U']],
      ['end', '2026-04-10', ['9326', 'G']],
    ]);
    await journey(t, 'D11', { ...h, start: '2026-01-05' }, [...decided('P'), ['end', '2026-04-10', ['9326', 'G']]]);
    await journey(t, 'D11', { ...h, start: '2026-01-05' }, [
      ...decided('T'),
      ['activity', '2026-02-10', ['9325', 'V']],
      ['end', '2026-03-20', ['9326', 'O']], // transferred to another trust: left out
    ]);
    await journey(t, 'D11', { ...h, start: '2026-01-05' }, [...decided('I'), ['end', '2026-02-10', ['9326', 'G']]]);
    await journey(t, 'D11', { ...h, start: '2026-01-05' }, [
      ...decided('P'),
      ['activity', '2026-02-10', ['9325', 'U']],
      ['end', '2026-05-10', ['9326', 'G']], // T2
    ]);
    // referrals (unit-r): received → pathway start (the referral assessed)
    const withReferral = async (code: string, received: string, start: string) => {
      const patient = await newPatient(t);
      await journey(t, code, { unit: 'unit-r', patient, start, referral: await referral(t, patient, received) });
    };
    await withReferral('D11', '2026-02-20', '2026-03-02'); // 6 working days
    await withReferral('D11', '2026-03-02', '2026-03-20'); // 14 working days: late
    await withReferral('D11', '2026-03-25', '2026-04-13'); // 10 working days, thanks to Easter (04-02, 04-03, 04-06)
    await withReferral('D06', '2026-02-02', '2026-03-20'); // the old model: not counted
    await journey(t, 'D11', { unit: 'unit-r', start: '2026-03-10' }); // no referral: excluded
  });

  it('first evaluation within the pathway time: outpatient only, a pathway without its time an exception', async () => {
    const report = await reportOf(t, 'first-evaluation-within-pathway-time', of('unit-e'));
    expect(figures(report.group?.[0] ?? {})).toEqual({
      'initial-population': 4,
      denominator: 4,
      numerator: 2,
      'denominator-exception': 1,
      score: 2 / 3,
    });
    const byPathway = strata(report.group?.[0] ?? {}, 'pathway');
    expect(byPathway.D01).toMatchObject({ 'initial-population': 2, numerator: 1, score: 0.5 });
    expect(byPathway.D08).toMatchObject({ 'initial-population': 1, numerator: 1, score: 1 });
    // only an exception left: no score, not NaN
    expect(byPathway.D11).toEqual({
      'initial-population': 1,
      denominator: 1,
      numerator: 0,
      'denominator-exception': 1,
      score: undefined,
    });
    expect(strata(report.group?.[0] ?? {}, 'care-level')).toEqual({
      AMB: expect.objectContaining({ 'initial-population': 4 }),
    });
  });

  it('first attendance of eating disorders by severity (7 or 28 days), and of psychosis (7 days)', async () => {
    const d08 = await reportOf(t, 'first-attendance-eating-disorders', of('unit-f'));
    expect(figures(d08.group?.[0] ?? {})).toMatchObject({ 'initial-population': 3, numerator: 2, score: 2 / 3 });
    expect(strata(d08.group?.[0] ?? {}, 'severity')).toEqual({
      alvorlig: expect.objectContaining({ 'initial-population': 2, numerator: 1, score: 0.5 }),
      'mindre-alvorlig': expect.objectContaining({ 'initial-population': 1, numerator: 1, score: 1 }),
    });
    const d06 = await reportOf(t, 'first-attendance-psychosis', of('unit-f'));
    expect(figures(d06.group?.[0] ?? {})).toMatchObject({ 'initial-population': 2, numerator: 1, score: 0.5 });
    expect(strata(d06.group?.[0] ?? {}, 'month')).toEqual({
      '2026-03': expect.objectContaining({ 'initial-population': 2 }),
    });
  });

  it('first attendance of OCD (42 days), and treatment after detox (3 or 0 days)', async () => {
    const d07 = await reportOf(t, 'first-attendance-ocd', of('unit-f'));
    expect(figures(d07.group?.[0] ?? {})).toMatchObject({ 'initial-population': 2, numerator: 1, score: 0.5 });
    const detox = await reportOf(t, 'treatment-after-detox', of('unit-d'));
    expect(figures(detox.group?.[0] ?? {})).toEqual({
      'initial-population': 3,
      denominator: 3,
      numerator: 2,
      'denominator-exception': 0,
      score: 2 / 3,
    });
    expect(strata(detox.group?.[0] ?? {}, 'unit-pathway')).toEqual({
      'Organization/unit-d × D01': expect.objectContaining({ 'initial-population': 2, numerator: 1, score: 0.5 }),
      'Organization/unit-d × D09': expect.objectContaining({ 'initial-population': 1, numerator: 1, score: 1 }),
    });
  });

  it('treatment plan with the patient: U/U among ended pathways decided for treatment, transfers out', async () => {
    const report = await reportOf(t, 'treatment-plan-with-patient', of('unit-t'));
    expect(figures(report.group?.[0] ?? {})).toEqual({
      'initial-population': 3,
      denominator: 3,
      'denominator-exclusion': 1,
      numerator: 1,
      score: 0.5,
    });
    const year = await reportOf(
      t,
      'treatment-plan-with-patient',
      of('unit-t', { periodStart: '2026', periodEnd: '2026' }),
    );
    expect(figures(year.group?.[0] ?? {})).toMatchObject({ 'initial-population': 4, numerator: 2, score: 2 / 3 });
    expect(strata(year.group?.[0] ?? {}, 'month')).toEqual({
      '2026-03': expect.objectContaining({ 'initial-population': 1, 'denominator-exclusion': 1, score: undefined }),
      '2026-04': expect.objectContaining({ 'initial-population': 2, numerator: 1, score: 0.5 }),
      '2026-05': expect.objectContaining({ 'initial-population': 1, numerator: 1, score: 1 }),
    });
  });

  it('referrals not assessed within 10 working days (lower is better), Norwegian holidays not counted', async () => {
    const report = await reportOf(t, 'referral-not-assessed-in-10-working-days', of('unit-r'));
    expect(report.improvementNotation?.coding?.[0]?.code).toBe('decrease');
    expect(report.group?.[0]?.extension).toBeUndefined();
    expect(figures(report.group?.[0] ?? {})).toEqual({
      'initial-population': 4,
      denominator: 4,
      'denominator-exclusion': 1,
      numerator: 1,
      score: 1 / 3,
    });
  });

  it('a continuous variable: the median of days from start to clinical decision, per stratum', async () => {
    const report = await reportOf(t, 'days-to-clinical-decision', of('unit-e'));
    // 4 (e3), 8 (e2), 14 (e1), 27 (D11), 36 (D08)
    expect(figures(report.group?.[0] ?? {})).toEqual({
      'initial-population': 5,
      'measure-population': 5,
      'measure-observation': 5,
      score: 14,
    });
    const byPathway = strata(report.group?.[0] ?? {}, 'pathway');
    expect([byPathway.D01.score, byPathway.D08.score, byPathway.D11.score]).toEqual([8, 36, 27]);
  });

  it('a cohort by FHIR query: the pathways open in the period, by their own dates', async () => {
    expect(figures((await reportOf(t, 'pathways-in-period', of('unit-t'))).group?.[0] ?? {})).toEqual({
      'initial-population': 5,
      score: undefined,
    });
    // in May only the pathway ended 05-10 is open
    const may = await reportOf(t, 'pathways-in-period', of('unit-t', { periodStart: '2026-05', periodEnd: '2026-05' }));
    expect(figures(may.group?.[0] ?? {})).toEqual({ 'initial-population': 1, score: undefined });
    expect(strata(may.group?.[0] ?? {}, 'pathway')).toEqual({ D11: { 'initial-population': 1, score: undefined } });
  });

  it('a ratio Measure written by a trust: numerator and denominator each within the initial population', async () => {
    const done = (code: string) =>
      `%tasks.where(status = 'completed' and code.coding.code = '${code}' and ` +
      'executionPeriod.end.where(%periodStart.calendarDaysUntil($this) >= 0 and ' +
      '$this.calendarDaysUntil(%periodEnd) >= 0).exists()).exists()';
    const pop = (code: string, expression: string) => ({
      code: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/measure-population', code }] },
      criteria: { language: 'text/fhirpath' as const, expression },
    });
    const measure: Measure = {
      resourceType: 'Measure',
      id: 'evaluations-per-decision',
      url: `${BASE}/Measure/evaluations-per-decision`,
      status: 'active',
      extension: [
        { url: 'http://hl7.org/fhir/us/cqfmeasures/StructureDefinition/cqfm-populationBasis', valueCode: 'CarePlan' },
      ],
      scoring: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/measure-scoring', code: 'ratio' }] },
      group: [
        {
          population: [pop('initial-population', 'true'), pop('numerator', done('E')), pop('denominator', done('C'))],
          // the PlanDefinition a pathway instantiates is there to read
          stratifier: [
            { code: { text: 'plan' }, criteria: { language: 'text/fhirpath', expression: '%plan.version' } },
          ],
        },
      ],
    };
    expect(
      (await t.http().put('/fhir/Measure/evaluations-per-decision').set('Content-Type', FHIR_JSON).send(measure))
        .status,
    ).toBe(201);
    // February at unit-e: 3 evaluations (e1, e2, e3), 5 clinical decisions
    const feb = await reportOf(
      t,
      'evaluations-per-decision',
      of('unit-e', { periodStart: '2026-02', periodEnd: '2026-02' }),
    );
    expect(figures(feb.group?.[0] ?? {})).toEqual({
      'initial-population': 5,
      numerator: 3,
      denominator: 5,
      score: 0.6,
    });
    expect(strata(feb.group?.[0] ?? {}, 'plan')).toEqual({ '2019.1': figures(feb.group?.[0] ?? {}) });
    // March: 2 evaluations, no decision: no score
    const mar = await reportOf(
      t,
      'evaluations-per-decision',
      of('unit-e', { periodStart: '2026-03', periodEnd: '2026-03' }),
    );
    expect(figures(mar.group?.[0] ?? {})).toEqual({
      'initial-population': 5,
      numerator: 2,
      denominator: 0,
      score: undefined,
    });
  });
});
