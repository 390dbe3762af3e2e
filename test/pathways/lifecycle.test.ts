import { describe, expect, it } from 'vitest';
import type { CarePlan } from '@medplum/fhirtypes';
import { BACKENDS } from '../support/backends.js';
import { useServer } from '../support/server.js';
import { applyPathway, completeMilestone, milestone, newPatient, usePathways } from './support.js';

const REASON = 'urn:oid:2.16.578.1.12.4.1.1.9326';

/** Ending, transfer and patient-postponed: what completing X or L does to the pathway. */
describe.each(BACKENDS)('ending, transfer and postponement, on $name', (backend) => {
  const t = useServer(backend);
  usePathways(t);
  const apply = (code: string, params: Record<string, string>) => applyPathway(t, code, params);
  const taskOf = (carePlan: CarePlan, actionId: string) => milestone(t, carePlan, actionId);
  const complete = async (
    carePlan: CarePlan,
    actionId: string,
    period: { start: string; end: string },
    more: object = {},
  ) => {
    const res = await completeMilestone(t, carePlan, actionId, period, more);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
  };
  const reason = (code: string) => ({
    output: [{ type: { text: 'Årsak til avslutning' }, valueCodeableConcept: { coding: [{ system: REASON, code }] } }],
  });

  it('X closes the pathway: CarePlan completed, EpisodeOfCare finished, open milestones cancelled', async () => {
    const carePlan = (await apply('D11', { subject: await newPatient(t), start: '2026-03-02' })).body as CarePlan;
    await complete(carePlan, 'end', { start: '2026-03-20', end: '2026-03-20' }, reason('G'));
    const closed = (await t.http().get(`/fhir/CarePlan/${carePlan.id}`)).body as CarePlan;
    expect(closed).toMatchObject({ status: 'completed', period: { start: '2026-03-02', end: '2026-03-20' } });
    const episode = (await t.http().get(`/fhir/${closed.supportingInfo?.[0].reference}`)).body;
    expect(episode).toMatchObject({ status: 'finished', period: { end: '2026-03-20' } });
    const open = await t
      .http()
      .get('/fhir/Task')
      .query({ 'based-on': `CarePlan/${carePlan.id}`, status: 'requested' });
    expect(open.body.entry ?? []).toEqual([]);
    expect((await taskOf(carePlan, 'clinical-decision')).status).toBe('cancelled');
  });

  it('transfer to another pathway (X with reason N) ends this one, and the next starts with $apply', async () => {
    const subject = await newPatient(t);
    const first = (await apply('D11', { subject, start: '2026-03-02' })).body as CarePlan;
    expect((await apply('D01', { subject, start: '2026-03-10' })).status).toBe(422); // 224 while D11 is open
    await complete(first, 'end', { start: '2026-03-10', end: '2026-03-10' }, reason('N'));
    const next = await apply('D01', { subject, start: '2026-03-10' });
    expect(next.status).toBe(200);
    expect(next.body.status).toBe('active');
  });

  it('patient-postponed (L) moves the open due dates by the postponement, but not the completed ones', async () => {
    const carePlan = (await apply('D06', { subject: await newPatient(t), start: '2026-03-02' })).body as CarePlan;
    expect((await taskOf(carePlan, 'first-attendance')).restriction?.period?.end).toBe('2026-03-09');
    await complete(carePlan, 'patient-postponed', { start: '2026-03-04', end: '2026-03-14' });
    expect((await taskOf(carePlan, 'first-attendance')).restriction?.period?.end).toBe('2026-03-19');
    expect((await taskOf(carePlan, 'clinical-decision')).restriction?.period?.end).toBe('2026-04-23');
    expect((await taskOf(carePlan, 'start')).status).toBe('completed');
  });
});
