import { beforeAll, describe, expect, it } from 'vitest';
import type { Bundle, CarePlan, Parameters } from '@medplum/fhirtypes';
import { evaluateAll } from '../../src/pathways/evaluate.js';
import { loadTopics } from '../../src/subscriptions/topic-loader.js';
import { BACKENDS } from '../support/backends.js';
import { FHIR_JSON, useServer } from '../support/server.js';
import { applyPathway, milestone, newPatient, usePathways } from '../pathways/support.js';
import { untilStatus, useDelivery, useEndpoint, waitFor } from './support.js';

const SD = 'http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition';
const TOPIC = 'http://forlop.no/fhir/SubscriptionTopic';

const byTopic = (topic: string, filter: string, endpoint: string) => ({
  resourceType: 'Subscription',
  status: 'requested',
  reason: 'test',
  criteria: `${TOPIC}/${topic}`,
  _criteria: { extension: [{ url: `${SD}/backport-filter-criteria`, valueString: filter }] },
  channel: {
    type: 'rest-hook',
    endpoint,
    payload: 'application/fhir+json',
    _payload: { extension: [{ url: `${SD}/backport-payload-content`, valueCode: 'id-only' }] },
  },
});

/** The focus of each event-notification a subscription was sent. */
const focusOf = (bodies: string[]) =>
  bodies.map((body) => {
    const status = (JSON.parse(body) as Bundle).entry![0].resource as Parameters;
    const event = status.parameter!.find((p) => p.name === 'notification-event')!;
    return event.part!.find((p) => p.name === 'focus')!.valueReference!.reference;
  });

/**
 * The Backport topics' `unit` filter: the unit that reports a pathway (its care team's managing
 * organization, set by $apply), for milestones, pathways and breaches, and a registry report job's unit;
 * a filter a topic cannot honour is refused.
 */
describe.each(BACKENDS)('the unit filter on topics, on $name', (backend) => {
  const t = useServer(backend);
  usePathways(t);
  useDelivery(t);
  const endpoint = useEndpoint();
  const post = (body: object) => t.http().post('/fhir/Subscription').set('Content-Type', FHIR_JSON).send(body);
  const unit = async (id: string) => {
    const res = await t
      .http()
      .put(`/fhir/Organization/${id}`)
      .set('Content-Type', FHIR_JSON)
      .send({ resourceType: 'Organization', id, name: `Enhet ${id}` });
    expect(res.status, JSON.stringify(res.body)).toBeLessThan(300);
  };
  beforeAll(async () => {
    await loadTopics(t.services);
    await unit('unit-a');
    await unit('unit-b');
  });

  it("tells a unit's subscriber of its own pathways, milestones and breaches only", async () => {
    t.clock.set(new Date('2026-03-03T09:00:00Z'));
    const ids: string[] = [];
    for (const [topic, filter] of [
      ['pathway-started', 'CarePlan?unit=Organization/unit-a'],
      ['milestone-overdue', 'Task?unit=Organization/unit-a'],
      ['breach-recorded', 'DetectedIssue?unit=Organization/unit-a'],
    ]) {
      const res = await post(byTopic(topic, filter, endpoint().url));
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      ids.push(res.body.id as string);
      await untilStatus(t, res.body.id, 'active');
    }
    const apply = async (organization: string) =>
      (await applyPathway(t, 'D06', { subject: await newPatient(t), start: '2026-03-02', organization }))
        .body as CarePlan;
    const other = await apply('Organization/unit-b');
    const own = await apply('Organization/unit-a');
    expect([own.resourceType, other.resourceType]).toEqual(['CarePlan', 'CarePlan']);
    const task = await milestone(t, own, 'first-attendance');
    t.clock.set(new Date('2026-03-10T09:00:00Z'));
    await evaluateAll(t.services); // both pathways' first attendance falls overdue
    const started = await waitFor('started', () => endpoint().events(ids[0]).length >= 1 && endpoint().events(ids[0]));
    const overdue = await waitFor('overdue', () => endpoint().events(ids[1]).length >= 1 && endpoint().events(ids[1]));
    await new Promise((r) => setTimeout(r, 300)); // unit-b's events would have come by now
    expect(
      focusOf(
        endpoint()
          .events(ids[0])
          .map((e) => e.body),
      ),
    ).toEqual([`CarePlan/${own.id}`]);
    expect(
      focusOf(
        endpoint()
          .events(ids[1])
          .map((e) => e.body),
      ),
    ).toEqual([`Task/${task.id}`]);
    expect([started.length, overdue.length]).toEqual([1, 1]);
    // the overdue milestone is a breach too (a DetectedIssue implicating it and its CarePlan): unit-a's only
    const breaches = await waitFor('breach', () => endpoint().events(ids[2]).length >= 1 && endpoint().events(ids[2]));
    expect(breaches).toHaveLength(1);
    const [issue] = focusOf(breaches.map((e) => e.body));
    const implicated = (await t.http().get(`/fhir/${issue}`)).body.implicated.map(
      (r: { reference: string }) => r.reference,
    );
    expect(implicated).toContain(`Task/${task.id}`);
  });

  it("tells a unit's subscriber of its own registry reports only (the job Task's unit input)", async () => {
    const created = await post(byTopic('registry-report-ready', 'Task?unit=Organization/unit-a', endpoint().url));
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const id = created.body.id as string;
    await untilStatus(t, id, 'active');
    // job Tasks as src/registry/run.ts writes them: the unit in an input of type 'unit'; b's, then a's
    const ids: string[] = [];
    for (const u of ['unit-b', 'unit-a']) {
      const job = {
        resourceType: 'Task',
        status: 'in-progress',
        intent: 'order',
        code: { coding: [{ system: 'http://forlop.no/fhir/CodeSystem/job', code: 'npr-report' }] },
        input: [{ type: { text: 'unit' }, valueReference: { reference: `Organization/${u}` } }],
      };
      const started = await t.http().post('/fhir/Task').set('Content-Type', FHIR_JSON).send(job);
      expect(started.status, JSON.stringify(started.body)).toBe(201);
      const done = { ...started.body, status: 'completed' };
      const put = await t.http().put(`/fhir/Task/${started.body.id}`).set('Content-Type', FHIR_JSON).send(done);
      expect(put.status).toBe(200);
      ids.push(started.body.id as string);
    }
    const events = await waitFor('the event', () => endpoint().events(id).length >= 1 && endpoint().events(id));
    expect(focusOf(events.map((e) => e.body))).toEqual([`Task/${ids[1]}`]);
    const counted = await t.storage.get<{ n: number | string }>(
      'SELECT events_since_start AS n FROM subscription_state WHERE id = ?',
      [id],
    );
    expect(Number(counted?.n)).toBe(1); // unit-b's report was no event for it
  });

  it('refuses (422) a filter a topic cannot honour (a registry report has no patient)', async () => {
    const res = await post(byTopic('registry-report-ready', 'Task?patient=Patient/p1', endpoint().url));
    expect(res.status, JSON.stringify(res.body)).toBe(422);
    expect(res.body.issue[0].expression).toEqual(['Subscription.criteria']);
    expect(res.body.issue[0].diagnostics).toMatch(/registry-report-ready/);
    expect(res.body.issue[0].diagnostics).toMatch(/patient/);
  });
});
