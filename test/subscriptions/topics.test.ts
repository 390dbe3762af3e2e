import { beforeAll, describe, expect, it } from 'vitest';
import type { AuditEvent, Bundle, CarePlan, Parameters, ParametersParameter } from '@medplum/fhirtypes';
import { evaluateAll } from '../../src/pathways/evaluate.js';
import { loadTopics } from '../../src/subscriptions/topic-loader.js';
import { BACKENDS } from '../support/backends.js';
import { FHIR_JSON, useServer } from '../support/server.js';
import { applyPathway, completeMilestone, milestone, newPatient, usePathways } from '../pathways/support.js';
import { Endpoint, untilStatus, useDelivery, useEndpoint, waitFor } from './support.js';

const SD = 'http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition';
const TOPIC = 'http://forlop.no/fhir/SubscriptionTopic';

/** A topic-based Subscription (R4 Backport IG): the topic as criteria, filters and content in extensions. */
function topicSubscription(topic: string, filter: string | undefined, endpoint: string, content?: string) {
  return {
    resourceType: 'Subscription',
    status: 'requested',
    reason: 'test',
    criteria: `${TOPIC}/${topic}`,
    ...(filter ? { _criteria: { extension: [{ url: `${SD}/backport-filter-criteria`, valueString: filter }] } } : {}),
    channel: {
      type: 'rest-hook',
      endpoint,
      payload: 'application/fhir+json',
      ...(content ? { _payload: { extension: [{ url: `${SD}/backport-payload-content`, valueCode: content }] } } : {}),
    },
  };
}

const param = (p: Parameters, name: string) => p.parameter?.find((x) => x.name === name);
const eventParts = (p: Parameters) =>
  (p.parameter ?? [])
    .filter((x) => x.name === 'notification-event')
    .map((x) => Object.fromEntries((x.part ?? []).map((q: ParametersParameter) => [q.name, q])));

/** R4 Backport topic-based subscriptions: the shipped topics, their filters, and history-Bundle notifications. */
describe.each(BACKENDS)('topic-based subscriptions, on $name', (backend) => {
  const t = useServer(backend);
  usePathways(t);
  useDelivery(t);
  const endpoint = useEndpoint();
  beforeAll(async () => {
    await loadTopics(t.services);
  });
  const post = (body: object) => t.http().post('/fhir/Subscription').set('Content-Type', FHIR_JSON).send(body);

  it('ships its topics as Basic resources and names them in the CapabilityStatement', async () => {
    const cs = (await t.http().get('/fhir/metadata')).body;
    const sub = cs.rest[0].resource.find((r: { type: string }) => r.type === 'Subscription');
    const topics = sub.extension.map((e: { valueCanonical: string }) => e.valueCanonical);
    expect(topics).toEqual(expect.arrayContaining([`${TOPIC}/milestone-overdue`, `${TOPIC}/breach-recorded`]));
    const basic = (await t.http().get('/fhir/Basic/topic-milestone-overdue')).body;
    expect(basic.code.coding[0].code).toBe('SubscriptionTopic');
    expect(basic.extension[0].valueUri).toBe(`${TOPIC}/milestone-overdue`);
    expect((await loadTopics(t.services)).unchanged).toBe(topics.length); // loading again changes nothing
  });

  it('refuses (422) an unknown topic, a filter it does not offer, no payload, an unknown content', async () => {
    const refused = async (body: object, expression: string) => {
      const res = await post(body);
      expect(res.status, JSON.stringify(res.body)).toBe(422);
      expect(res.body.issue[0].expression).toEqual([expression]);
    };
    await refused(topicSubscription('no-such-topic', undefined, endpoint().url), 'Subscription.criteria');
    await refused(topicSubscription('milestone-overdue', 'Task?status=ready', endpoint().url), 'Subscription.criteria');
    await refused(
      topicSubscription('milestone-overdue', 'CarePlan?patient=Patient/x', endpoint().url),
      'Subscription.criteria',
    );
    const noPayload = topicSubscription('milestone-overdue', undefined, endpoint().url);
    await refused(
      { ...noPayload, channel: { type: 'rest-hook', endpoint: endpoint().url } },
      'Subscription.channel.payload',
    );
    await refused(
      topicSubscription('milestone-overdue', undefined, endpoint().url, 'everything'),
      'Subscription.channel.payload',
    );
  });

  it('milestone-overdue for one patient, id-only: a handshake Bundle, then an event Bundle with no patient data', async () => {
    t.clock.set(new Date('2026-03-03T09:00:00Z'));
    const patient = await newPatient(t);
    const other = await newPatient(t);
    const body = topicSubscription('milestone-overdue', `Task?patient=${patient}`, endpoint().url, 'id-only');
    const created = await post(body);
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const id = created.body.id as string;
    await untilStatus(t, id, 'active');
    const shake = endpoint().received.find((r) => r.kind === 'handshake' && r.subscription === `Subscription/${id}`)!;
    const shakeBundle = JSON.parse(shake.body) as Bundle;
    expect(shakeBundle.type).toBe('history');
    const shakeStatus = shakeBundle.entry![0].resource as Parameters;
    expect(param(shakeStatus, 'type')?.valueCode).toBe('handshake');
    expect(param(shakeStatus, 'topic')?.valueCanonical).toBe(`${TOPIC}/milestone-overdue`);

    const carePlan = (await applyPathway(t, 'D06', { subject: patient, start: '2026-03-02' })).body as CarePlan;
    await applyPathway(t, 'D06', { subject: other, start: '2026-03-02' });
    const task = await milestone(t, carePlan, 'first-attendance');
    t.clock.set(new Date('2026-03-10T09:00:00Z'));
    await evaluateAll(t.services);
    const [event] = await waitFor('the notification', () => endpoint().events(id).length >= 1 && endpoint().events(id));
    expect(event).toMatchObject({ method: 'POST', path: '/hook', number: 1 });
    const bundle = JSON.parse(event.body) as Bundle;
    expect(bundle.type).toBe('history');
    expect(bundle.entry).toHaveLength(1); // id-only: the status alone, no resource
    const status = bundle.entry![0].resource as Parameters;
    expect(param(status, 'type')?.valueCode).toBe('event-notification');
    expect(param(status, 'events-since-subscription-start')?.valueString).toBe('1');
    const [part] = eventParts(status);
    expect(part['event-number'].valueString).toBe('1');
    expect(part.focus.valueReference?.reference).toBe(`Task/${task.id}`);
    expect(event.body).not.toContain(patient); // nothing about the patient leaves the server

    // a topic is the transition: a client's note on the milestone, still overdue, is not another event
    const current = (await t.http().get(`/fhir/Task/${task.id}`)).body;
    const noted = { ...current, note: [{ text: 'Pasienten er ringt opp' }] };
    const edited = await t.http().put(`/fhir/Task/${task.id}`).set('Content-Type', FHIR_JSON).send(noted);
    expect(edited.status, JSON.stringify(edited.body)).toBe(200);
    expect(edited.body.businessStatus.coding[0].code).toBe('overdue');
    const counted = await t.storage.get<{ n: number | string }>(
      'SELECT events_since_start AS n FROM subscription_state WHERE id = ?',
      [id],
    );
    expect(Number(counted?.n)).toBe(1);
    const statusOp = await t.http().get(`/fhir/Subscription/${id}/$status`);
    expect(param(statusOp.body.entry[0].resource, 'topic')?.valueCanonical).toBe(`${TOPIC}/milestone-overdue`);
  });

  it('pathway-started and pathway-ended: $apply and closing the pathway (X) are one event each', async () => {
    t.clock.set(new Date('2026-03-21T09:00:00Z'));
    const patient = await newPatient(t);
    const ids: string[] = [];
    for (const topic of ['pathway-started', 'pathway-ended']) {
      const created = await post(topicSubscription(topic, `CarePlan?patient=${patient}`, endpoint().url, 'id-only'));
      expect(created.status, JSON.stringify(created.body)).toBe(201);
      ids.push(created.body.id as string);
      await untilStatus(t, created.body.id, 'active');
    }
    const carePlan = (await applyPathway(t, 'D11', { subject: patient, start: '2026-03-02' })).body as CarePlan;
    const focus = (id: string) => {
      const status = (JSON.parse(endpoint().events(id)[0].body) as Bundle).entry![0].resource as Parameters;
      return eventParts(status)[0].focus.valueReference?.reference;
    };
    await waitFor('started', () => endpoint().events(ids[0]).length >= 1);
    expect(focus(ids[0])).toBe(`CarePlan/${carePlan.id}`);
    const reason = { coding: [{ system: 'urn:oid:2.16.578.1.12.4.1.1.9326', code: 'G' }] };
    const output = [{ type: { text: 'Årsak til avslutning' }, valueCodeableConcept: reason }];
    const closed = await completeMilestone(t, carePlan, 'end', { start: '2026-03-20', end: '2026-03-20' }, { output });
    expect(closed.status, JSON.stringify(closed.body)).toBe(200);
    await waitFor('ended', () => endpoint().events(ids[1]).length >= 1);
    expect(focus(ids[1])).toBe(`CarePlan/${carePlan.id}`);
    const counts = await t.storage.all<{ id: string; n: number | string }>(
      `SELECT id, events_since_start AS n FROM subscription_state WHERE id IN (?, ?) ORDER BY id`,
      ids,
    );
    expect(counts.map((c) => Number(c.n))).toEqual([1, 1]); // started once (not at each write), ended once
  });

  it('registry-report-ready: a registry job Task turning completed is one event', async () => {
    const created = await post(topicSubscription('registry-report-ready', undefined, endpoint().url, 'id-only'));
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const id = created.body.id as string;
    await untilStatus(t, id, 'active');
    // the job Task as src/registry/run.ts writes it: in progress, then completed with its outputs
    const job = {
      resourceType: 'Task',
      status: 'in-progress',
      intent: 'order',
      code: { coding: [{ system: 'http://forlop.no/fhir/CodeSystem/job', code: 'npr-report' }] },
    };
    const started = await t.http().post('/fhir/Task').set('Content-Type', FHIR_JSON).send(job);
    expect(started.status, JSON.stringify(started.body)).toBe(201);
    const done = { ...started.body, status: 'completed' };
    expect((await t.http().put(`/fhir/Task/${started.body.id}`).set('Content-Type', FHIR_JSON).send(done)).status).toBe(
      200,
    );
    const noted = { ...done, note: [{ text: 'sent to NPR' }] };
    expect(
      (await t.http().put(`/fhir/Task/${started.body.id}`).set('Content-Type', FHIR_JSON).send(noted)).status,
    ).toBe(200);
    const [event] = await waitFor('the event', () => endpoint().events(id).length >= 1 && endpoint().events(id));
    const status = (JSON.parse(event.body) as Bundle).entry![0].resource as Parameters;
    expect(eventParts(status)[0].focus.valueReference?.reference).toBe(`Task/${started.body.id}`);
    const counted = await t.storage.get<{ n: number | string }>(
      'SELECT events_since_start AS n FROM subscription_state WHERE id = ?',
      [id],
    );
    expect(Number(counted?.n)).toBe(1);
  });

  it('sends heartbeats at the period asked for when there is nothing else to send', async () => {
    const beat = await Endpoint.start();
    const body = topicSubscription('breach-recorded', undefined, beat.url, 'empty');
    const heartbeat = { url: `${SD}/backport-heartbeat-period`, valueUnsignedInt: 1 };
    const created = await post({ ...body, channel: { ...body.channel, extension: [heartbeat] } });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const id = created.body.id as string;
    await untilStatus(t, id, 'active');
    const beats = await waitFor('two heartbeats', () => {
      const got = beat.received.filter((r) => r.kind === 'heartbeat' && r.subscription === `Subscription/${id}`);
      return got.length >= 2 && got;
    });
    const status = (JSON.parse(beats[0].body) as Bundle).entry![0].resource as Parameters;
    expect(param(status, 'type')?.valueCode).toBe('heartbeat');
    expect(param(status, 'events-since-subscription-start')?.valueString).toBe('0');
    // a heartbeat is for a topic-based subscription, and a whole number of seconds
    const core = await post({
      resourceType: 'Subscription',
      status: 'requested',
      reason: 'test',
      criteria: 'Organization?name=x',
      channel: { type: 'rest-hook', endpoint: beat.url, extension: [heartbeat] },
    });
    expect(core.status).toBe(422);
    expect(core.body.issue[0].expression).toEqual(['Subscription.channel']);
    const stored = (await t.http().get(`/fhir/Subscription/${id}`)).body;
    const off = await t
      .http()
      .put(`/fhir/Subscription/${id}`)
      .set('Content-Type', FHIR_JSON)
      .send({ ...stored, status: 'off' });
    expect(off.status).toBe(200); // no more heartbeats
    await beat.close();
  });

  it('full-resource: the Task follows the status in the Bundle, and the delivery is audited', async () => {
    t.clock.set(new Date('2026-04-06T09:00:00Z'));
    const patient = await newPatient(t);
    const body = topicSubscription('milestone-overdue', `Task?patient=${patient}`, endpoint().url, 'full-resource');
    const created = await post(body);
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const id = created.body.id as string;
    await untilStatus(t, id, 'active');
    const carePlan = (await applyPathway(t, 'D06', { subject: patient, start: '2026-04-06' })).body as CarePlan;
    const task = await milestone(t, carePlan, 'first-attendance');
    t.clock.set(new Date('2026-04-20T09:00:00Z'));
    await evaluateAll(t.services);
    const [event] = await waitFor('the notification', () => endpoint().events(id).length >= 1 && endpoint().events(id));
    const bundle = JSON.parse(event.body) as Bundle;
    expect(bundle.entry!.map((e) => e.resource?.resourceType)).toEqual(['Parameters', 'Task']);
    expect(bundle.entry![1].resource).toMatchObject({ id: task.id, businessStatus: { coding: [{ code: 'overdue' }] } });
    const audited = await waitFor('the Export AuditEvent', async () => {
      const res = await t
        .http()
        .get('/fhir/AuditEvent')
        .query({ entity: `Subscription/${id}` });
      return (res.body.entry ?? []).length > 0 && (res.body.entry as { resource: AuditEvent }[]);
    });
    expect(audited[0].resource.entity?.map((e) => e.what?.reference)).toContain(patient);
  });
});
