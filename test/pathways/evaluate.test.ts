import { describe, expect, it } from 'vitest';
import type { CarePlan, DetectedIssue } from '@medplum/fhirtypes';
import { BACKENDS } from '../support/backends.js';
import { FHIR_JSON, useServer } from '../support/server.js';
import { applyPathway, milestone, newPatient, outcomeOf, usePathways } from './support.js';

/** Deadline evaluation: on every change and on the schedule ($evaluate-deadlines runs it now). */
describe.each(BACKENDS)('deadline evaluation, on $name', (backend) => {
  const t = useServer(backend);
  usePathways(t);
  const taskOf = (carePlan: CarePlan, actionId: string) => milestone(t, carePlan, actionId);
  const standing = async (carePlan: CarePlan, actionId: string) =>
    (await taskOf(carePlan, actionId)).businessStatus?.coding?.[0]?.code;
  const evaluate = async () => {
    const res = await t
      .http()
      .post('/fhir/$evaluate-deadlines')
      .set('Content-Type', FHIR_JSON)
      .send({ resourceType: 'Parameters' });
    expect(res.status).toBe(200);
    return Object.fromEntries(
      res.body.parameter.map((p: { name: string; valueInteger: number }) => [p.name, p.valueInteger]),
    );
  };
  const breaches = async (carePlan: CarePlan) =>
    (
      (
        await t
          .http()
          .get('/fhir/DetectedIssue')
          .query({ implicated: `CarePlan/${carePlan.id}` })
      ).body.entry ?? []
    ).map((e: { resource: DetectedIssue }) => e.resource);

  it('on $apply, then as time passes: due-soon, overdue with one DetectedIssue (never two), missed when done late', async () => {
    t.clock.set(new Date('2026-03-03T09:00:00Z'));
    const carePlan = (await applyPathway(t, 'D06', { subject: await newPatient(t), start: '2026-03-02' }))
      .body as CarePlan;
    expect(await standing(carePlan, 'first-attendance')).toBe('due-soon'); // due 9 March
    expect(await standing(carePlan, 'clinical-decision')).toBe('on-time'); // due 13 April
    expect(await standing(carePlan, 'collaboration-meeting')).toBeUndefined(); // no limit
    // the statuses are codes of the shipped CodeSystem, with its displays
    const status = (await taskOf(carePlan, 'first-attendance')).businessStatus?.coding?.[0];
    const checked = await t.http().get('/fhir/ValueSet/$validate-code').query({
      url: 'http://forlop.no/fhir/ValueSet/deadline-status',
      system: status?.system,
      code: status?.code,
      display: status?.display,
    });
    expect(
      checked.body.parameter.find((p: { name: string }) => p.name === 'result').valueBoolean,
      JSON.stringify(checked.body),
    ).toBe(true);
    expect(checked.body.parameter.some((p: { name: string }) => p.name === 'message')).toBe(false);

    t.clock.set(new Date('2026-03-10T09:00:00Z'));
    expect((await evaluate()).breaches).toBeGreaterThanOrEqual(1);
    expect(await standing(carePlan, 'first-attendance')).toBe('overdue');
    const overdue = await t
      .http()
      .get('/fhir/Task')
      .query({
        'business-status': 'http://forlop.no/fhir/CodeSystem/deadline-status|overdue',
        'based-on': `CarePlan/${carePlan.id}`,
      });
    expect(overdue.body.entry).toHaveLength(1);
    let issues = await breaches(carePlan);
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatchObject({
      status: 'final',
      code: { text: 'Brudd på forløpstid' },
      detail: 'Første fremmøte: frist 2026-03-09, ikke utført per 2026-03-10',
    });
    await evaluate();
    expect(await breaches(carePlan)).toHaveLength(1);

    // done late: the change is evaluated at once, and the breach stays one
    const task = await taskOf(carePlan, 'first-attendance');
    await t
      .http()
      .put(`/fhir/Task/${task.id}`)
      .set('Content-Type', FHIR_JSON)
      .send({ ...task, status: 'completed', executionPeriod: { start: '2026-03-10', end: '2026-03-10' } });
    expect(await standing(carePlan, 'first-attendance')).toBe('missed');
    issues = await breaches(carePlan);
    expect(issues).toHaveLength(1);
  });

  it('today is the Oslo date: 00:30 in Oslo on the day after the deadline is overdue, across DST and a year end', async () => {
    for (const [start, due, instant] of [
      ['2026-03-22', '2026-03-29', '2026-03-29T22:30:00Z'], // 00:30 CEST on 30 March, the day after the spring-forward change
      ['2026-12-24', '2026-12-31', '2026-12-31T23:30:00Z'], // 00:30 CET on 1 January 2027
    ]) {
      t.clock.set(new Date(`${start}T12:00:00Z`));
      const carePlan = (await applyPathway(t, 'D06', { subject: await newPatient(t), start })).body as CarePlan;
      expect((await taskOf(carePlan, 'first-attendance')).restriction?.period?.end).toBe(due);
      t.clock.set(new Date(new Date(instant).getTime() - 3_600_000 * 2)); // still the due day in Oslo
      await evaluate();
      expect(await standing(carePlan, 'first-attendance')).toBe('due-soon');
      t.clock.set(new Date(instant));
      await evaluate();
      expect(await standing(carePlan, 'first-attendance')).toBe('overdue');
    }
  });

  it('the scheduled run touches only the pathways that the date has changed: a second run at the same time finds none', async () => {
    t.clock.set(new Date('2026-06-01T09:00:00Z'));
    const carePlan = (await applyPathway(t, 'D11', { subject: await newPatient(t), start: '2026-06-01' }))
      .body as CarePlan;
    expect(await standing(carePlan, 'clinical-decision')).toBe('on-time');
    t.clock.set(new Date('2026-08-01T09:00:00Z'));
    const first = await evaluate();
    expect(first.carePlans).toBeGreaterThanOrEqual(1);
    expect(first.updated).toBeGreaterThanOrEqual(1);
    expect(await standing(carePlan, 'clinical-decision')).toBe('overdue');
    expect(await evaluate()).toMatchObject({ carePlans: 0, updated: 0, breaches: 0 });
  });

  it('every change is evaluated at once: an open milestone whose due date a client moves into the past is overdue on that write', async () => {
    t.clock.set(new Date('2026-04-01T09:00:00Z'));
    const carePlan = (await applyPathway(t, 'D06', { subject: await newPatient(t), start: '2026-04-01' }))
      .body as CarePlan;
    expect(await standing(carePlan, 'clinical-decision')).toBe('on-time');
    const task = await taskOf(carePlan, 'clinical-decision');
    const res = await t
      .http()
      .put(`/fhir/Task/${task.id}`)
      .set('Content-Type', FHIR_JSON)
      .send({ ...task, restriction: { period: { start: '2026-03-01', end: '2026-03-31' } } });
    expect(res.status).toBe(200);
    expect(await standing(carePlan, 'clinical-decision')).toBe('overdue');
    expect((await breaches(carePlan)).map((d: DetectedIssue) => d.implicated?.[0].reference)).toEqual([
      `Task/${task.id}`,
    ]);
  });

  it('ended pathways are not evaluated any more', async () => {
    t.clock.set(new Date('2026-05-01T09:00:00Z'));
    const carePlan = (await applyPathway(t, 'D11', { subject: await newPatient(t), start: '2026-05-01' }))
      .body as CarePlan;
    const end = await taskOf(carePlan, 'end');
    t.clock.set(new Date('2026-05-02T09:00:00Z'));
    const ended = {
      ...end,
      status: 'completed',
      executionPeriod: { start: '2026-05-02', end: '2026-05-02' },
      output: [outcomeOf('9326', 'P')],
    };
    expect((await t.http().put(`/fhir/Task/${end.id}`).set('Content-Type', FHIR_JSON).send(ended)).status).toBe(200);
    t.clock.set(new Date('2026-09-01T09:00:00Z'));
    await evaluate();
    expect(await breaches(carePlan)).toEqual([]);
  });
});
