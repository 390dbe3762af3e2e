import { beforeAll, describe, expect, it } from 'vitest';
import type { CarePlan, PlanDefinition, Task } from '@medplum/fhirtypes';
import { BACKENDS } from '../support/backends.js';
import { personNumber } from '../support/norwegian-ids.js';
import { FHIR_JSON, useServer } from '../support/server.js';
import { applyPathway, completeMilestone, ensureUnit, milestone, newPatient, usePathways } from './support.js';

const PATHWAYS = ['D01', 'D06', 'D07', 'D08', 'D09', 'D10', 'D11', 'D12'];
const START = '2026-03-02';

/** `PlanDefinition/$apply` for every pathway (R4 §12.18.4.1): EpisodeOfCare, CarePlan and Tasks in one transaction. */
describe.each(BACKENDS)('$apply of the pathways, on $name', (backend) => {
  const t = useServer(backend);
  usePathways(t);
  beforeAll(async () => {
    const patient = {
      resourceType: 'Patient',
      id: 'kari',
      name: [{ family: 'Nordmann', given: ['Kari'] }],
      identifier: [{ system: 'urn:oid:2.16.578.1.12.4.1.4.1', value: personNumber('150390', 123, 'synthetic') }],
    };
    expect((await t.http().put('/fhir/Patient/kari').set('Content-Type', FHIR_JSON).send(patient)).status).toBe(201);
  });
  const apply = (code: string, params: Record<string, string>) => applyPathway(t, code, params);
  const tasksOf = async (carePlan: CarePlan) => {
    const res = await t
      .http()
      .get('/fhir/Task')
      .query({ 'based-on': `CarePlan/${carePlan.id}`, _count: '100' });
    return (res.body.entry ?? []).map((e: { resource: Task }) => e.resource) as Task[];
  };
  const due = (tasks: Task[], event: string) =>
    tasks.filter((x) => x.code?.coding?.[0]?.code === event).map((x) => x.restriction?.period?.end);

  it.each(PATHWAYS)(
    '%s: a CarePlan instantiating the pathway, one Task per action, the start done, an EpisodeOfCare',
    async (code) => {
      const subject = await newPatient(t, code === 'D12' || code === 'D08' ? '2012-06-01' : '1990-03-15');
      const res = await apply(code, { subject, start: START, ...(code === 'D08' ? { severity: 'alvorlig' } : {}) });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      const carePlan = res.body as CarePlan;
      expect(carePlan).toMatchObject({
        resourceType: 'CarePlan',
        status: 'active',
        intent: 'plan',
        subject: { reference: subject },
        period: { start: START },
      });
      expect(carePlan.instantiatesCanonical).toEqual([`http://forlop.no/fhir/PlanDefinition/pathway-${code}|2019.1`]);
      expect(carePlan.category?.[0].coding?.[0]).toEqual({ system: 'urn:oid:2.16.578.1.12.4.1.1.9321', code });
      const plan = (await t.http().get(`/fhir/PlanDefinition/pathway-${code}`)).body as PlanDefinition;
      const tasks = await tasksOf(carePlan);
      expect(tasks).toHaveLength(plan.action?.length as number);
      expect(carePlan.activity?.map((a) => a.reference?.reference).sort()).toEqual(
        tasks.map((x) => `Task/${x.id}`).sort(),
      );
      const start = tasks.find((x) => x.code?.coding?.[0]?.code === 'A');
      expect(start).toMatchObject({
        status: 'completed',
        executionPeriod: { start: START, end: START },
        for: { reference: subject },
      });
      expect(tasks.filter((x) => x.status === 'requested')).toHaveLength(tasks.length - 1);
      const episode = await t.http().get(`/fhir/${carePlan.supportingInfo?.[0].reference}`);
      expect(episode.body).toMatchObject({
        resourceType: 'EpisodeOfCare',
        status: 'active',
        patient: { reference: subject },
        period: { start: START },
      });
    },
  );

  it('a CareTeam: the patient takes part, and the practitioner who applied it is the coordinator in specialist care', async () => {
    const subject = await newPatient(t);
    const practitioner = {
      resourceType: 'Practitioner',
      id: 'koordinator-1',
      name: [{ family: 'Koordinator', given: ['Kari'] }],
      identifier: [{ system: 'urn:oid:2.16.578.1.12.4.1.4.4', value: '9144889' }],
    };
    expect(
      (await t.http().put('/fhir/Practitioner/koordinator-1').set('Content-Type', FHIR_JSON).send(practitioner)).status,
    ).toBeLessThan(300);
    const carePlan = (await apply('D11', { subject, start: START, practitioner: 'Practitioner/koordinator-1' }))
      .body as CarePlan;
    const team = (await t.http().get(`/fhir/${carePlan.careTeam?.[0].reference}`)).body;
    expect(team).toMatchObject({
      resourceType: 'CareTeam',
      status: 'active',
      subject: { reference: subject },
      period: { start: START },
    });
    expect(
      team.participant.map((p: { role: { coding: { code: string }[] }[]; member: { reference: string } }) => [
        p.role[0].coding[0].code,
        p.member.reference,
      ]),
    ).toEqual([
      ['patient', subject],
      ['coordinator-specialist', 'Practitioner/koordinator-1'],
    ]);
    // without a practitioner, the patient alone until a coordinator is named
    const alone = (await apply('D06', { subject: await newPatient(t), start: START })).body as CarePlan;
    expect((await t.http().get(`/fhir/${alone.careTeam?.[0].reference}`)).body.participant).toHaveLength(1);
  });

  it('due dates from the rules that count from the start: psychosis first consultation in 7 days, assessment in six weeks (policy)', async () => {
    const carePlan = (await apply('D06', { subject: await newPatient(t), start: START })).body as CarePlan;
    const tasks = await tasksOf(carePlan);
    expect(due(tasks, 'M')).toEqual(['2026-03-09']);
    expect(due(tasks, 'C')).toEqual(['2026-04-13']);
    // limits that count from a later milestone are set when it is done
    expect(due(tasks, 'E')).toEqual([undefined, undefined]);
    const found = await t
      .http()
      .get('/fhir/Task')
      .query({ due: '2026-03-09', 'based-on': `CarePlan/${carePlan.id}` });
    expect(found.body.entry.map((e: { resource: Task }) => e.resource.code?.coding?.[0]?.code)).toEqual(['M']);
  });

  it('D08: the first attendance limit depends on severity (7 or 28 days), which is then required', async () => {
    const severe = await tasksOf(
      (await apply('D08', { subject: await newPatient(t, '2012-06-01'), start: START, severity: 'alvorlig' })).body,
    );
    expect(due(severe, 'M')).toEqual(['2026-03-09']);
    const milder = await tasksOf(
      (await apply('D08', { subject: await newPatient(t, '2012-06-01'), start: START, severity: 'mindre-alvorlig' }))
        .body,
    );
    expect(due(milder, 'M')).toEqual(['2026-03-30']);
    const missing = await apply('D08', { subject: 'Patient/kari', start: START });
    expect(missing.status).toBe(400);
    expect(missing.body.issue[0].expression).toEqual(['severity']);
  });

  it('the PlanDefinition is the only source of a time limit: change the rule in the data, and the deadline follows', async () => {
    const plan = (await t.http().get('/fhir/PlanDefinition/pathway-D11')).body as PlanDefinition;
    const decision = plan.action?.find((a) => a.id === 'clinical-decision');
    const rule = decision?.extension?.[0].extension?.find((e) => e.url === 'rule');
    expect(rule?.valueExpression?.expression).toBe('%from.addCalendarDays(42)');
    (rule as { valueExpression: { expression: string } }).valueExpression.expression = '%from.addWorkingDays(10)';
    expect(
      (await t.http().put('/fhir/PlanDefinition/pathway-D11').set('Content-Type', FHIR_JSON).send(plan)).status,
    ).toBe(200);
    const tasks = await tasksOf((await apply('D11', { subject: await newPatient(t), start: '2026-03-27' })).body);
    expect(due(tasks, 'C')).toEqual(['2026-04-15']); // ten working days over Easter 2026
  });

  it('POST with Parameters, and the start defaults to today in Oslo (the injected clock)', async () => {
    const res = await t
      .http()
      .post('/fhir/PlanDefinition/pathway-D07/$apply')
      .set('Content-Type', FHIR_JSON)
      .send({
        resourceType: 'Parameters',
        parameter: [
          { name: 'subject', valueString: await newPatient(t) },
          { name: 'organization', valueReference: { reference: await ensureUnit(t) } },
          {
            name: 'setting',
            valueCodeableConcept: {
              coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'IMP' }],
            },
          },
        ],
      });
    expect(res.status).toBe(200);
    expect(res.body.period.start).toBe('2026-10-01'); // the test clock: 2026-10-01T08:00Z
    expect(due(await tasksOf(res.body), 'M')).toEqual(['2026-11-12']); // OCD: 42 days to first attendance
  });

  it('bad input is an OperationOutcome naming the parameter, and nothing is written', async () => {
    const before = (await t.http().get('/fhir/CarePlan?_summary=count')).body.total;
    const cases: [Record<string, string>, number, string][] = [
      [{}, 400, 'subject'],
      [{ subject: 'Group/1' }, 400, 'subject'],
      [{ subject: 'Patient/nobody' }, 422, 'subject'],
      [{ subject: 'Patient/kari', start: '2026-13-45' }, 400, 'start'],
      [{ subject: 'Patient/kari', setting: 'ICU' }, 400, 'setting'],
      [{ subject: 'Patient/kari', practitioner: 'Practitioner/ghost' }, 422, 'practitioner'],
    ];
    for (const [params, status, expression] of cases) {
      const res = await apply('D11', params);
      expect(res.status, JSON.stringify(params)).toBe(status);
      expect(res.body.issue[0].expression).toEqual([expression]);
    }
    expect((await t.http().post('/fhir/PlanDefinition/nothing/$apply').query({ subject: 'Patient/kari' })).status).toBe(
      404,
    );
    expect((await t.http().get('/fhir/CarePlan?_summary=count')).body.total).toBe(before);
  });
});

/** `CarePlan/$deadlines`: the pathway times, against the injected clock, across a weekend and Easter. */
describe.each(BACKENDS)('$deadlines, on $name', (backend) => {
  const t = useServer(backend);
  usePathways(t);
  beforeAll(async () => {
    const patient = {
      resourceType: 'Patient',
      id: 'ola',
      name: [{ family: 'Nordmann', given: ['Ola'] }],
      identifier: [{ system: 'urn:oid:2.16.578.1.12.4.1.4.1', value: personNumber('010180', 200, 'synthetic') }],
    };
    expect((await t.http().put('/fhir/Patient/ola').set('Content-Type', FHIR_JSON).send(patient)).status).toBe(201);
  });
  type Part = {
    name: string;
    valueCode?: string;
    valueDate?: string;
    valueInteger?: number;
    valueCoding?: { code: string };
  };
  const milestones = (body: { parameter: { name: string; part?: Part[] }[] }) =>
    body.parameter
      .filter((p) => p.name === 'milestone')
      .map((p) =>
        Object.fromEntries(
          (p.part ?? []).map((x) => [x.name, x.valueCode ?? x.valueDate ?? x.valueInteger ?? x.valueCoding?.code]),
        ),
      );

  it('due, actual, standing and elapsed calendar and working days, as the clock moves', async () => {
    // D06 started on Friday 27 March 2026: first consultation due 3 April (Good Friday), assessment 8 May (policy)
    const carePlan = (await applyPathway(t, 'D06', { subject: 'Patient/ola', start: '2026-03-27' })).body as CarePlan;
    t.clock.set(new Date('2026-03-30T10:00:00Z')); // Monday
    let res = await t.http().get(`/fhir/CarePlan/${carePlan.id}/$deadlines`);
    expect(res.status).toBe(200);
    let rows = milestones(res.body);
    expect(rows[0]).toMatchObject({
      code: 'A',
      status: 'no-limit',
      actual: '2026-03-27',
      elapsedCalendarDays: 0,
      elapsedWorkingDays: 0,
    });
    const m = () => rows.find((r) => r.code === 'M');
    const c = () => rows.find((r) => r.code === 'C');
    expect(m()).toMatchObject({ status: 'due-soon', due: '2026-04-03', elapsedCalendarDays: 3, elapsedWorkingDays: 1 });
    expect(c()).toMatchObject({ status: 'on-time', due: '2026-05-08' });

    t.clock.set(new Date('2026-04-07T10:00:00Z')); // Tuesday after Easter: Maundy Thursday, Good Friday and Easter Monday are not working days
    rows = milestones((await t.http().get(`/fhir/CarePlan/${carePlan.id}/$deadlines`)).body);
    expect(m()).toMatchObject({ status: 'overdue', elapsedCalendarDays: 11, elapsedWorkingDays: 4 });

    // recorded on 7 April that the first consultation took place on 2 April, before its due date: met, and its
    // elapsed time stops there
    const task = (
      await t
        .http()
        .get('/fhir/Task')
        .query({ 'based-on': `CarePlan/${carePlan.id}`, code: 'urn:oid:2.16.578.1.12.4.1.1.9322|M' })
    ).body.entry[0].resource as Task;
    const done = await t
      .http()
      .put(`/fhir/Task/${task.id}`)
      .set('Content-Type', FHIR_JSON)
      .send({ ...task, status: 'completed', executionPeriod: { start: '2026-04-02', end: '2026-04-02' } });
    expect(done.status, JSON.stringify(done.body)).toBe(200);
    rows = milestones((await t.http().get(`/fhir/CarePlan/${carePlan.id}/$deadlines`)).body);
    expect(m()).toMatchObject({ status: 'met', actual: '2026-04-02', elapsedCalendarDays: 6, elapsedWorkingDays: 3 });
    res = await t.http().get(`/fhir/CarePlan/${carePlan.id}/$deadlines`).query({ soon: '40' });
    expect(milestones(res.body).find((r) => r.code === 'C')).toMatchObject({ status: 'due-soon' });
  });

  it('an unknown CarePlan is 404; a bad soon is 400 naming it', async () => {
    expect((await t.http().get('/fhir/CarePlan/none/$deadlines')).status).toBe(404);
    const carePlan = (await applyPathway(t, 'D11', { subject: 'Patient/ola', start: '2026-03-27' })).body as CarePlan;
    const bad = await t.http().get(`/fhir/CarePlan/${carePlan.id}/$deadlines`).query({ soon: 'soonish' });
    expect(bad.status).toBe(400);
    expect(bad.body.issue[0].expression).toEqual(['soon']);
  });
});

/** Completing a milestone sets the due dates of those that count from it, by the PlanDefinition's rules. */
describe.each(BACKENDS)('pathway progress, on $name', (backend) => {
  const t = useServer(backend);
  usePathways(t);
  const taskOf = (carePlan: CarePlan, actionId: string) => milestone(t, carePlan, actionId);
  const complete = async (carePlan: CarePlan, actionId: string, date: string) => {
    const res = await completeMilestone(t, carePlan, actionId, date);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
  };
  const dueOf = async (carePlan: CarePlan, actionId: string) =>
    (await taskOf(carePlan, actionId)).restriction?.period?.end;

  it('TSB outpatient: assessment 21 days after the first attendance, first evaluation 7 days after the decision, then every 56 days', async () => {
    const carePlan = (await applyPathway(t, 'D01', { subject: await newPatient(t), start: '2026-03-02' }))
      .body as CarePlan;
    expect(await dueOf(carePlan, 'clinical-decision')).toBeUndefined();
    await complete(carePlan, 'first-attendance', '2026-03-05');
    expect(await dueOf(carePlan, 'clinical-decision')).toBe('2026-03-26');
    await complete(carePlan, 'clinical-decision', '2026-03-20');
    expect(await dueOf(carePlan, 'first-evaluation')).toBe('2026-03-27');
    await complete(carePlan, 'first-evaluation', '2026-03-27');
    expect(await dueOf(carePlan, 'next-evaluation')).toBe('2026-05-22');
  });

  it('TSB inpatient (setting IMP, recorded on the CarePlan): the same milestones with the inpatient limits', async () => {
    const carePlan = (
      await applyPathway(t, 'D01', { subject: await newPatient(t), start: '2026-03-02', setting: 'IMP' })
    ).body as CarePlan;
    expect(carePlan.extension?.[0].extension).toEqual([{ url: 'setting', valueCode: 'IMP' }]);
    await complete(carePlan, 'first-attendance', '2026-03-05');
    expect(await dueOf(carePlan, 'clinical-decision')).toBe('2026-03-12');
    await complete(carePlan, 'clinical-decision', '2026-03-12');
    expect(await dueOf(carePlan, 'first-evaluation')).toBe('2026-03-19');
    await complete(carePlan, 'first-evaluation', '2026-04-01');
    expect(await dueOf(carePlan, 'next-evaluation')).toBe('2026-05-13'); // 42 days in døgn
  });

  it('a milestone with a limit from the start keeps it; completing a milestone nothing counts from changes nothing else', async () => {
    const carePlan = (await applyPathway(t, 'D06', { subject: await newPatient(t), start: '2026-03-02' }))
      .body as CarePlan;
    const before = await taskOf(carePlan, 'clinical-decision');
    await complete(carePlan, 'collaboration-meeting', '2026-03-04');
    const after = await taskOf(carePlan, 'clinical-decision');
    expect(after.meta?.versionId).toBe(before.meta?.versionId);
    expect(after.restriction?.period?.end).toBe('2026-04-13');
  });
});
