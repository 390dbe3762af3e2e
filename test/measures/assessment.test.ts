import { beforeAll, describe, expect, it } from 'vitest';
import type { CarePlan } from '@medplum/fhirtypes';
import { BACKENDS } from '../support/backends.js';
import { useServer } from '../support/server.js';
import {
  counted,
  dropNprRule,
  figures,
  journey,
  population,
  putUnits,
  refs,
  reportOf,
  strata,
  useMeasures,
} from './support.js';

const MEASURE = 'assessment-within-pathway-time';
const T1 = { periodStart: '2026-01', periodEnd: '2026-04' };

/**
 * The assessment indicator (clinical decision C within the pathway time) on a hand-computed cohort.
 * D11's C is due 42 days from the start; D01's 21 (AMB) or 7 (IMP) days from the first attendance M.
 *
 *   p1  D11 AMB unit-a  start 01-05, C 02-10 (due 02-16)              within
 *   p2  D11 AMB unit-a  start 01-05, C 03-01 (due 02-16)              late
 *   p3  D01 IMP unit-b  M 02-03, C 02-12 (due 02-10)                  late
 *   p4  D01 AMB unit-b  M 02-04, C 03-02 (due 02-25)                  late
 *   p5  D11 AMB unit-a  start 03-02, C 03-02 without M               excluded: rights at referral assessment
 *   p6  D11 AMB unit-a  start 01-12, postponed 14 days, C 03-05 (due 02-23 → 03-09)   within
 *   p7a D11 AMB unit-a  start 01-05, ended 01-25 X/O (transfer)       no C: not counted
 *   p7b D11 AMB unit-b  same patient, start 01-26, C 02-20 (due 03-09) within
 *   p8  D11 AMB unit-a  start 04-01, C 05-05 (due 05-13)              T2: within
 *   p9  D11 AMB unit-a  start 03-10, M 03-15, still open              no C
 *
 * T1: initial population 7, exclusion 1 (p5), numerator 3 (p1, p6, p7b): 3 / (7 − 1) = 0.5.
 */
describe.each(BACKENDS)('the assessment indicator on a golden cohort, on $name', (backend) => {
  const t = useServer(backend);
  useMeasures(t);
  const p = {} as Record<string, CarePlan & { patient: string }>;
  beforeAll(async () => {
    await putUnits(t, ['unit-a', 'unit-b', 'unit-c'], ['coord-1', 'coord-2']);
    const a = { unit: 'unit-a', practitioner: 'coord-1' };
    p.p1 = await journey(t, 'D11', { ...a, start: '2026-01-05' }, [
      ['first-attendance', '2026-01-10'],
      ['clinical-decision', '2026-02-10'],
    ]);
    p.p2 = await journey(t, 'D11', { ...a, start: '2026-01-05' }, [
      ['first-attendance', '2026-01-20'],
      ['clinical-decision', '2026-03-01'],
    ]);
    const b = { unit: 'unit-b', practitioner: 'coord-2' };
    p.p3 = await journey(t, 'D01', { ...b, start: '2026-02-02', setting: 'IMP' }, [
      ['first-attendance', '2026-02-03'],
      ['clinical-decision', '2026-02-12'],
    ]);
    p.p4 = await journey(t, 'D01', { ...b, start: '2026-02-02' }, [
      ['first-attendance', '2026-02-04'],
      ['clinical-decision', '2026-03-02'],
    ]);
    const a2 = { unit: 'unit-a', practitioner: 'coord-2' };
    p.p6 = await journey(t, 'D11', { ...a2, start: '2026-01-12' }, [
      ['patient-postponed', { start: '2026-01-20', end: '2026-02-03' }],
      ['first-attendance', '2026-02-05'],
      ['clinical-decision', '2026-03-05'],
    ]);
    p.p7a = await journey(t, 'D11', { ...a2, start: '2026-01-05' }, [['end', '2026-01-25', ['9326', 'O']]]);
    p.p7b = await journey(t, 'D11', { ...b, patient: p.p7a.patient, start: '2026-01-26' }, [
      ['first-attendance', '2026-02-01'],
      ['clinical-decision', '2026-02-20'],
    ]);
    p.p8 = await journey(t, 'D11', { ...a2, start: '2026-04-01' }, [
      ['first-attendance', '2026-04-10'],
      ['clinical-decision', '2026-05-05'],
    ]);
    p.p9 = await journey(t, 'D11', { ...a2, start: '2026-03-10' }, [['first-attendance', '2026-03-15']]);
    // rights granted directly: only C is registered, which NPR's rule 208 refuses unless the unit's copy drops it
    await dropNprRule(t, 'D11', '208');
    p.p5 = await journey(t, 'D11', { ...a2, start: '2026-03-02' }, [['clinical-decision', '2026-03-02']]);
  });

  it('counts the populations and scores T1 by hand: (3 − 0) / (7 − 1 − 0)', async () => {
    const report = await reportOf(t, MEASURE, T1);
    expect(report).toMatchObject({
      status: 'complete',
      type: 'summary',
      period: { start: '2026-01-01', end: '2026-04-30' },
    });
    expect(report.measure).toBe('http://forlop.no/fhir/Measure/assessment-within-pathway-time|2026.1');
    expect(report.improvementNotation?.coding?.[0]?.code).toBe('increase');
    expect(figures(report.group?.[0] ?? {})).toEqual({
      'initial-population': 7,
      denominator: 7,
      'denominator-exclusion': 1,
      numerator: 3,
      'denominator-exception': 0,
      score: 0.5,
    });
    // the target travels with the figure
    const target = report.group?.[0]?.extension?.find((e) => e.url.endsWith('/measure-target'));
    expect(target?.extension?.find((e) => e.url === 'value')?.valueDecimal).toBe(0.8);
  });

  it('gives every stratum its own populations and score, value by value', async () => {
    const [group] = (await reportOf(t, MEASURE, T1)).group ?? [];
    const f = (ip: number, dx: number, n: number, score: number) => ({
      'initial-population': ip,
      denominator: ip,
      'denominator-exclusion': dx,
      numerator: n,
      'denominator-exception': 0,
      score,
    });
    expect(strata(group, 'unit')).toEqual({
      'Organization/unit-a': f(4, 1, 2, 2 / 3),
      'Organization/unit-b': f(3, 0, 1, 1 / 3),
    });
    expect(strata(group, 'pathway')).toEqual({ D01: f(2, 0, 0, 0), D11: f(5, 1, 3, 0.75) });
    expect(strata(group, 'care-level')).toEqual({ AMB: f(6, 1, 3, 0.6), IMP: f(1, 0, 0, 0) });
    expect(strata(group, 'month')).toEqual({ '2026-02': f(3, 0, 2, 2 / 3), '2026-03': f(4, 1, 1, 1 / 3) });
    expect(strata(group, 'tertial')).toEqual({ '2026-T1': f(7, 1, 3, 0.5) });
    expect(strata(group, 'unit-pathway')).toEqual({
      'Organization/unit-a × D11': f(4, 1, 2, 2 / 3),
      'Organization/unit-b × D01': f(2, 0, 0, 0),
      'Organization/unit-b × D11': f(1, 0, 1, 1),
    });
  });

  it('a subject-list opens every figure down to exactly the CarePlans counted', async () => {
    const report = await reportOf(t, MEASURE, { ...T1, reportType: 'subject-list' });
    expect(report.type).toBe('subject-list');
    const [group] = report.group ?? [];
    expect(counted(report, population(group, 'numerator'))).toEqual(refs(p.p1, p.p6, p.p7b));
    expect(counted(report, population(group, 'denominator-exclusion'))).toEqual(refs(p.p5));
    expect(counted(report, population(group, 'initial-population'))).toEqual(
      refs(p.p1, p.p2, p.p3, p.p4, p.p5, p.p6, p.p7b),
    );
    expect(population(group, 'denominator-exception')?.subjectResults).toBeUndefined();
    const unitA = group.stratifier?.[0]?.stratum?.find((s) => s.value?.text === 'Organization/unit-a');
    expect(counted(report, population(unitA ?? {}, 'numerator'))).toEqual(refs(p.p1, p.p6));
    // every count of every stratum is the length of its list
    for (const s of group.stratifier ?? []) {
      for (const st of s.stratum ?? [])
        for (const pop of st.population ?? []) expect(counted(report, pop)).toHaveLength(pop.count ?? 0);
    }
    // and each CarePlan listed is one that is stored
    for (const ref of counted(report, population(group, 'initial-population')))
      expect((await t.http().get(`/fhir/${ref}`)).status).toBe(200);
  });

  it('a year counts T2 as well; an empty period has counts of 0 and no score', async () => {
    const year = await reportOf(t, MEASURE, { periodStart: '2026', periodEnd: '2026' });
    expect(year.period).toEqual({ start: '2026-01-01', end: '2026-12-31' });
    expect(figures(year.group?.[0] ?? {})).toMatchObject({
      'initial-population': 8,
      'denominator-exclusion': 1,
      numerator: 4,
      score: 4 / 7,
    });
    expect(Object.keys(strata(year.group?.[0] ?? {}, 'tertial'))).toEqual(['2026-T1', '2026-T2']);
    expect(strata(year.group?.[0] ?? {}, 'tertial')['2026-T2']).toMatchObject({
      'initial-population': 1,
      numerator: 1,
      score: 1,
    });
    const empty = await reportOf(t, MEASURE, { periodStart: '2025', periodEnd: '2025' });
    expect(figures(empty.group?.[0] ?? {})).toEqual({
      'initial-population': 0,
      denominator: 0,
      'denominator-exclusion': 0,
      numerator: 0,
      'denominator-exception': 0,
      score: undefined,
    });
    expect(empty.group?.[0]?.measureScore).toBeUndefined();
    expect(empty.group?.[0]?.stratifier?.[0]?.stratum ?? []).toEqual([]);
  });

  it('a unit as subject counts its pathways and reports as the unit; a unit without any has no score', async () => {
    const b = await reportOf(t, MEASURE, { ...T1, subject: 'Organization/unit-b' });
    expect(b.reporter).toEqual({ reference: 'Organization/unit-b' });
    expect(b.subject).toBeUndefined();
    expect(figures(b.group?.[0] ?? {})).toMatchObject({ 'initial-population': 3, numerator: 1, score: 1 / 3 });
    const c = await reportOf(t, MEASURE, { ...T1, subject: 'Organization/unit-c' });
    expect(figures(c.group?.[0] ?? {})).toMatchObject({ 'initial-population': 0, score: undefined });
  });

  it('practitioner narrows to the pathways the practitioner coordinates', async () => {
    const report = await reportOf(t, MEASURE, { ...T1, practitioner: 'Practitioner/coord-1' });
    expect(report.subject).toEqual({ reference: 'Practitioner/coord-1' });
    expect(figures(report.group?.[0] ?? {})).toMatchObject({ 'initial-population': 2, numerator: 1, score: 0.5 });
  });

  it('an individual report counts one patient: the transferred patient is counted at the receiving unit', async () => {
    const report = await reportOf(t, MEASURE, { ...T1, subject: p.p7a.patient });
    expect(report.type).toBe('individual');
    expect(report.subject).toEqual({ reference: p.p7a.patient });
    expect(figures(report.group?.[0] ?? {})).toMatchObject({ 'initial-population': 1, numerator: 1, score: 1 });
    expect(strata(report.group?.[0] ?? {}, 'unit')).toEqual({
      'Organization/unit-b': expect.objectContaining({ numerator: 1 }),
    });
    const evaluated = (report.evaluatedResource ?? []).map((r) => r.reference);
    expect(evaluated).toEqual(expect.arrayContaining([`CarePlan/${p.p7a.id}`, `CarePlan/${p.p7b.id}`]));
    expect(evaluated.filter((r) => r?.startsWith('Task/')).length).toBeGreaterThan(10);
    // lastReceivedOn: only what changed since then (nothing has, after today)
    const since = await reportOf(t, MEASURE, { ...T1, subject: p.p7a.patient, lastReceivedOn: '2026-10-02' });
    expect(since.evaluatedResource).toBeUndefined();
  });
});
