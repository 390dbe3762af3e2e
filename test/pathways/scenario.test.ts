import { describe, expect, it } from 'vitest';
import type { BundleEntry, CarePlan, Procedure, Task } from '@medplum/fhirtypes';
import { BACKENDS } from '../support/backends.js';
import { organisationNumber } from '../support/norwegian-ids.js';
import { FHIR_JSON, useServer } from '../support/server.js';
import { postReport, unitAnswer } from '../registry/support.js';
import { applyPathway, completeMilestone, milestone, newPatient, outcomeOf, usePathways } from './support.js';

const EVENT = 'urn:oid:2.16.578.1.12.4.1.1.9322';
const ACTION = 'http://forlop.no/fhir/NamingSystem/pathway-action';

/**
 * Issue 14, end to end: two pathways lived through a month as a coordinator records them — late,
 * corrected, postponed, ended — and the month's NPR report: every completed milestone is either in
 * the report or in its problems, never missing; here all of them are in it, with no problem.
 */
describe.each(BACKENDS)('a month of pathways reaches the registry whole, on $name', (backend) => {
  const t = useServer(backend);
  usePathways(t);
  const at = (day: string) => t.clock.set(new Date(`${day}T10:00:00Z`));
  const done = async (
    carePlan: CarePlan,
    action: string,
    period: string | { start: string; end: string },
    more: object = {},
  ) => {
    const res = await completeMilestone(t, carePlan, action, period, more);
    expect(res.status, `${action}: ${JSON.stringify(res.body)}`).toBe(200);
    return res.body as Task;
  };

  it('apply, record with realistic dates, a breach and its back-dated correction, the month report', async () => {
    const unit = {
      resourceType: 'Organization',
      id: 'dps-sor',
      name: 'DPS Sør',
      identifier: [{ system: 'urn:oid:2.16.578.1.12.4.1.4.101', value: organisationNumber('98765432') }],
    };
    expect((await t.http().put('/fhir/Organization/dps-sor').set('Content-Type', FHIR_JSON).send(unit)).status).toBe(
      201,
    );
    const organization = 'Organization/dps-sor';

    at('2026-03-02');
    const psychosis = (
      await applyPathway(t, 'D06', { subject: await newPatient(t), start: '2026-03-02', organization })
    ).body as CarePlan;
    const adult = (
      await applyPathway(t, 'D11', { subject: await newPatient(t, '1975-08-09'), start: '2026-03-02', organization })
    ).body as CarePlan;
    expect(psychosis.id && adult.id).toBeTruthy();

    // the first attendance was due 9 March; on the 10th nothing is recorded: a breach
    at('2026-03-10');
    await t
      .http()
      .post('/fhir/$evaluate-deadlines')
      .set('Content-Type', FHIR_JSON)
      .send({ resourceType: 'Parameters' });
    const breach = (
      await t
        .http()
        .get('/fhir/DetectedIssue')
        .query({ implicated: `CarePlan/${psychosis.id}`, status: 'final' })
    ).body;
    expect(breach.total ?? breach.entry?.length).toBe(1);
    // the 11th: the coordinator records that the patient came on the 6th — in time after all
    at('2026-03-11');
    expect((await done(psychosis, 'first-attendance', '2026-03-06')).businessStatus?.coding?.[0].code).toBe('met');
    const standing = (
      await t
        .http()
        .get('/fhir/DetectedIssue')
        .query({ implicated: `CarePlan/${psychosis.id}`, status: 'final' })
    ).body;
    expect(standing.entry ?? []).toEqual([]);

    at('2026-03-31');
    await done(psychosis, 'psychosis-symptoms', '2026-01-15');
    await done(psychosis, 'clinical-decision', '2026-03-18', { output: [outcomeOf('9323', 'P')] });
    await done(psychosis, 'patient-postponed', { start: '2026-03-19', end: '2026-03-26' }, { output: undefined });
    await done(psychosis, 'activity', '2026-03-27', { output: [outcomeOf('9325', 'U')] });
    await done(adult, 'first-attendance', '2026-03-09');
    await done(adult, 'clinical-decision', '2026-03-16', { output: [outcomeOf('9323', 'K')] });
    await done(adult, 'end', '2026-03-30', { output: [outcomeOf('9326', 'G')] });
    expect((await milestone(t, adult, 'first-evaluation')).status).toBe('cancelled');

    at('2026-04-02');
    const res = await postReport(t, [
      { name: 'period', valueString: '2026-03' },
      { name: 'unit', valueReference: { reference: organization } },
    ]);
    expect(res.status, JSON.stringify(res.body).slice(0, 2000)).toBe(200);
    const { bundle: report, problems } = unitAnswer(res.body);

    // every completed milestone with an event code dated in March, from the server's own records
    const recorded: Task[] = [];
    for (const carePlan of [psychosis, adult]) {
      const search = await t
        .http()
        .get('/fhir/Task')
        .query({ 'based-on': `CarePlan/${carePlan.id}`, status: 'completed', _count: '100' });
      for (const e of search.body.entry as BundleEntry<Task>[]) {
        const task = e.resource as Task;
        const date = task.executionPeriod?.end?.slice(0, 10) ?? '';
        if (task.code?.coding?.some((c) => c.system === EVENT) && date >= '2026-03-01' && date < '2026-04-01')
          recorded.push(task);
      }
    }
    expect(recorded.length).toBe(9); // D06: A, M, C, L, U (P is January's); D11: A, M, C, X
    const reported = new Set(
      (report.entry ?? [])
        .filter((e) => e.resource?.resourceType === 'Procedure')
        .map((e) => (e.resource as Procedure).identifier?.find((i) => i.system === ACTION)?.value),
    );
    const inProblems = new Set((problems.issue ?? []).flatMap((i) => i.expression ?? []));
    for (const task of recorded) {
      const action = task.identifier?.find((i) => i.system === ACTION)?.value;
      expect(reported.has(action) || inProblems.has(`Task/${task.id}`), `${task.description} is missing`).toBe(true);
    }
    // and none of them is a problem: the data the server accepted is data NPR accepts
    expect(problems.issue?.filter((i) => i.severity === 'error') ?? []).toEqual([]);
    expect(reported.size).toBe(recorded.length);
    const codes = (report.entry ?? []).flatMap((e) =>
      e.resource?.resourceType === 'Procedure' ? [(e.resource as Procedure).code?.coding?.[0].code] : [],
    );
    expect(codes.sort()).toEqual(['D06A', 'D06CP', 'D06L', 'D06M', 'D06UU', 'D11A', 'D11CK', 'D11M', 'D11XG'].sort());
  });
});
