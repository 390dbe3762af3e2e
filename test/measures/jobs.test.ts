import { beforeAll, describe, expect, it } from 'vitest';
import type { Measure, MeasureReport, Task } from '@medplum/fhirtypes';
import { settled } from '../../src/measures/async.js';
import { runScheduledMeasures, SCHEDULED_REPORT, scheduledPeriods } from '../../src/measures/schedule.js';
import { BACKENDS } from '../support/backends.js';
import { BASE, FHIR_JSON, useServer } from '../support/server.js';
import { completeMilestone } from '../pathways/support.js';
import { figures, journey, putUnits, useMeasures } from './support.js';

const MEASURE = 'assessment-within-pathway-time';
const URL = `http://forlop.no/fhir/Measure/${MEASURE}|2026.1`;
const SHIPPED = 10;

describe('the scheduled periods', () => {
  it('are the month before (Oslo) and its tertial so far', () => {
    expect(scheduledPeriods(new Date('2026-03-02T08:00:00Z'))).toEqual([
      { label: '2026-02', period: { start: '2026-02-01', end: '2026-02-28' } },
      { label: '2026-T1', period: { start: '2026-01-01', end: '2026-02-28' } },
    ]);
    // 00:30 on 1 September in Oslo is still 31 August in UTC: August is the month before, and ends T2
    expect(scheduledPeriods(new Date('2026-08-31T22:30:00Z'))).toEqual([
      { label: '2026-08', period: { start: '2026-08-01', end: '2026-08-31' } },
      { label: '2026-T2', period: { start: '2026-05-01', end: '2026-08-31' } },
    ]);
    expect(scheduledPeriods(new Date('2027-01-02T08:00:00Z'))[1]).toEqual({
      label: '2026-T3',
      period: { start: '2026-09-01', end: '2026-12-31' },
    });
  });
});

/** Asynchronous evaluation (202 and a job Task) and the monthly job that stores each unit's reports. */
describe.each(BACKENDS)('measure jobs, on $name', (backend) => {
  const t = useServer(backend);
  useMeasures(t);
  const log: Record<string, unknown>[] = [];
  const logged = (entry: Record<string, unknown>) => log.push(entry);
  let first: Awaited<ReturnType<typeof journey>>;
  beforeAll(async () => {
    await putUnits(t, ['s-a', 's-b']);
    first = await journey(t, 'D11', { unit: 's-a', start: '2026-01-05' }, [
      ['first-attendance', '2026-01-10'],
      ['clinical-decision', '2026-02-10'], // due 02-16: within
    ]);
    await journey(t, 'D11', { unit: 's-b', start: '2026-01-05' }, [
      ['first-attendance', '2026-01-20'],
      ['clinical-decision', '2026-02-20'], // late
    ]);
  });
  const task = async (location: string) =>
    (await t.http().get(location.slice(BASE.length - '/fhir'.length))).body as Task;

  it('Prefer: respond-async answers 202 with a job Task to poll, which refers to the stored report', async () => {
    const res = await t
      .http()
      .post(`/fhir/Measure/${MEASURE}/$evaluate-measure`)
      .set('Prefer', 'respond-async')
      .set('Content-Type', FHIR_JSON)
      .send({
        resourceType: 'Parameters',
        parameter: [
          { name: 'periodStart', valueDate: '2026-01-01' },
          { name: 'periodEnd', valueDate: '2026-04-30' },
        ],
      });
    expect(res.status).toBe(202);
    expect(res.body.resourceType).toBe('OperationOutcome');
    const location = res.headers['content-location'] as string;
    expect(location).toMatch(new RegExp(`^${BASE}/Task/[^/]+$`));
    await settled();
    const job = await task(location);
    expect(job.status).toBe('completed');
    const ref = job.output?.[0]?.valueReference?.reference as string;
    expect(ref).toMatch(/^MeasureReport\//);
    const report = (await t.http().get(`/fhir/${ref}`)).body as MeasureReport;
    expect(figures(report.group?.[0] ?? {})).toMatchObject({ 'initial-population': 2, numerator: 1, score: 0.5 });
  });

  it('refuses at once what it can (404, 400); a failure while evaluating fails the job with why', async () => {
    const unknown = await t
      .http()
      .get('/fhir/Measure/nonesuch/$evaluate-measure')
      .query({ periodStart: '2026', periodEnd: '2026' })
      .set('Prefer', 'respond-async');
    expect(unknown.status).toBe(404);
    const missing = await t
      .http()
      .get(`/fhir/Measure/${MEASURE}/$evaluate-measure`)
      .query({ periodStart: '2026' })
      .set('Prefer', 'respond-async');
    expect(missing.status).toBe(400);
    expect(missing.body.issue[0].expression).toEqual(['periodEnd']);
    const measure = (await t.http().get(`/fhir/Measure/${MEASURE}`)).body as Measure;
    const broken: Measure = { ...measure, id: 'broken', url: `${BASE}/Measure/broken` };
    const numerator = broken.group?.[0]?.population?.find((p) => p.code?.coding?.[0]?.code === 'numerator');
    if (numerator?.criteria) numerator.criteria.expression = '%tasks.id';
    expect((await t.http().put('/fhir/Measure/broken').set('Content-Type', FHIR_JSON).send(broken)).status).toBe(201);
    const res = await t
      .http()
      .get('/fhir/Measure/broken/$evaluate-measure')
      .query({ periodStart: '2026', periodEnd: '2026' })
      .set('Prefer', 'respond-async');
    expect(res.status).toBe(202);
    await settled();
    const job = await task(res.headers['content-location'] as string);
    expect(job.status).toBe('failed');
    expect(job.statusReason?.text).toMatch(
      /Measure\.group\[0\]\.population\[\d\]\.criteria\.expression gave .* not a boolean/,
    );
    expect(
      (
        await t
          .http()
          .put('/fhir/Measure/broken')
          .set('Content-Type', FHIR_JSON)
          .send({ ...broken, status: 'retired' })
      ).status,
    ).toBe(200);
  });

  it("the monthly job stores each unit's month and tertial report of every active Measure, once", async () => {
    t.clock.set('2026-03-02T08:00:00Z');
    const run = await runScheduledMeasures(t.services, logged);
    // 10 Measures × 2 units × (February, T1 so far); the retired one is not run
    expect(run).toEqual({ written: SHIPPED * 4, unchanged: 0, failed: 0 });
    const stored = await t
      .http()
      .get('/fhir/MeasureReport')
      .query({ identifier: `${SCHEDULED_REPORT}|${URL}|Organization/s-a|2026-02` });
    expect(stored.body.entry).toHaveLength(1);
    const report = stored.body.entry[0].resource as MeasureReport;
    expect(report).toMatchObject({
      type: 'subject-list',
      reporter: { reference: 'Organization/s-a' },
      period: { start: '2026-02-01', end: '2026-02-28' },
    });
    expect(figures(report.group?.[0] ?? {})).toMatchObject({ 'initial-population': 1, numerator: 1, score: 1 });
    const tertial = await t
      .http()
      .get('/fhir/MeasureReport')
      .query({ identifier: `${SCHEDULED_REPORT}|${URL}|Organization/s-b|2026-T1` });
    expect(figures(tertial.body.entry[0].resource.group[0])).toMatchObject({
      'initial-population': 1,
      numerator: 0,
      score: 0,
    });
    // again on the same data: nothing written
    expect(await runScheduledMeasures(t.services, logged)).toEqual({ written: 0, unchanged: SHIPPED * 4, failed: 0 });
  });

  it('two runs at once (two nodes) write a changed report once, and only what changed', async () => {
    t.clock.set('2026-10-01T08:00:00Z');
    const res = await completeMilestone(t, first, 'first-evaluation', '2026-02-25');
    expect(res.status).toBe(200);
    t.clock.set('2026-03-02T08:00:00Z');
    const count = async () =>
      (
        await t
          .http()
          .get('/fhir/MeasureReport')
          .query({ identifier: `${SCHEDULED_REPORT}|`, _summary: 'count' })
      ).body.total;
    const before = await count();
    const [a, b] = await Promise.all([
      runScheduledMeasures(t.services, logged),
      runScheduledMeasures(t.services, logged),
    ]);
    // the first evaluation of s-a's pathway (February, and T1 so far) is the only change
    expect(a.written + b.written).toBe(2);
    expect(a.unchanged + b.unchanged).toBe(SHIPPED * 8 - 2);
    expect(await count()).toBe(before);
    expect(log.filter((l) => l.level === 'error')).toEqual([]);
  });
});
