import { beforeAll, describe, expect, it } from 'vitest';
import type { Bundle, Parameters, ParametersParameter } from '@medplum/fhirtypes';
import { loadConformance } from '../../src/fhir/conformance-loader.js';
import { BACKENDS } from '../support/backends.js';
import { FHIR_JSON, useServer } from '../support/server.js';
import {
  createOrganization,
  Endpoint,
  restHook,
  subscribe,
  untilStatus,
  useDelivery,
  useEndpoint,
  waitFor,
} from './support.js';

const param = (p: Parameters, name: string) => p.parameter?.find((x) => x.name === name);
const eventsOf = (p: Parameters) =>
  (p.parameter ?? [])
    .filter((x) => x.name === 'notification-event')
    .map((x) => Object.fromEntries((x.part ?? []).map((q: ParametersParameter) => [q.name, q])));

/** R4 Backport `$status` and `$events`: how a client that missed notifications finds and fetches them. */
describe.each(BACKENDS)('$status and $events after a miss, on $name', (backend) => {
  const t = useServer(backend);
  useDelivery(t);
  const endpoint = useEndpoint();
  let id: string;
  const orgs: string[] = [];
  beforeAll(async () => {
    id = await subscribe(t, restHook('Organization?name=Zeta', endpoint().url, { payload: 'application/fhir+json' }));
    await untilStatus(t, id, 'active');
    orgs.push(await createOrganization(t, 'Zeta'));
    await waitFor('event 1', () => endpoint().events(id).length === 1);
    endpoint().mode = 'down'; // the client misses what follows
    orgs.push(await createOrganization(t, 'Zeta'));
    orgs.push(await createOrganization(t, 'Zeta'));
  });

  it('$status says 3 events since the start: the client, with 1, knows it missed two', async () => {
    const res = await t.http().get(`/fhir/Subscription/${id}/$status`);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const bundle = res.body as Bundle;
    expect(bundle).toMatchObject({ resourceType: 'Bundle', type: 'searchset', total: 1 });
    const status = bundle.entry![0].resource as Parameters;
    expect(param(status, 'subscription')?.valueReference?.reference).toBe(`http://forlop.test/fhir/Subscription/${id}`);
    expect(param(status, 'status')?.valueCode).toBe('active');
    expect(param(status, 'type')?.valueCode).toBe('query-status');
    expect(param(status, 'events-since-subscription-start')?.valueString).toBe('3');
    expect(
      endpoint()
        .events(id)
        .map((e) => e.number),
    ).toEqual([1]);
  });

  it('$status at type level: the subscriptions named by id, filtered by status; id is required', async () => {
    const offId = await subscribe(t, { ...restHook('Organization?name=Zeta', endpoint().url), status: 'off' });
    const all = await t
      .http()
      .get('/fhir/Subscription/$status')
      .query({ id: `${id},${offId},unknown-one` });
    expect(all.status, JSON.stringify(all.body)).toBe(200);
    const refs = (b: Bundle) =>
      (b.entry ?? []).map((e) => param(e.resource as Parameters, 'subscription')?.valueReference?.reference);
    expect(refs(all.body)).toEqual([
      `http://forlop.test/fhir/Subscription/${id}`,
      `http://forlop.test/fhir/Subscription/${offId}`,
    ]);
    const active = await t
      .http()
      .get('/fhir/Subscription/$status')
      .query({ id: `${id},${offId}`, status: 'active' });
    expect(refs(active.body)).toEqual([`http://forlop.test/fhir/Subscription/${id}`]);
    const none = await t.http().get('/fhir/Subscription/$status');
    expect(none.status).toBe(400);
    expect(none.body.issue[0].expression).toEqual(['id']);
  });

  it('$events from 2 gives the missed events, the status first, then the versions', async () => {
    const res = await t.http().get(`/fhir/Subscription/${id}/$events`).query({ eventsSinceNumber: '2' });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const bundle = res.body as Bundle;
    expect(bundle.type).toBe('history');
    const status = bundle.entry![0].resource as Parameters;
    expect(param(status, 'type')?.valueCode).toBe('query-event');
    const events = eventsOf(status);
    expect(events.map((e) => e['event-number'].valueString)).toEqual(['2', '3']);
    expect(events.map((e) => e.focus.valueReference?.reference)).toEqual([
      `Organization/${orgs[1]}`,
      `Organization/${orgs[2]}`,
    ]);
    expect(bundle.entry!.slice(1).map((e) => e.resource?.id)).toEqual([orgs[1], orgs[2]]);
    expect(bundle.entry![1]).toMatchObject({ request: { method: 'POST' }, response: { status: '201' } });
  });

  it('$events with content=empty carries no focus and no resources; a range; bad input is 400, unknown 404', async () => {
    const empty = await t
      .http()
      .get(`/fhir/Subscription/${id}/$events`)
      .query({ eventsSinceNumber: '1', eventsUntilNumber: '2', content: 'empty' });
    expect(empty.status).toBe(200);
    const status = empty.body.entry[0].resource as Parameters;
    expect(eventsOf(status).map((e) => [e['event-number'].valueString, e.focus])).toEqual([
      ['1', undefined],
      ['2', undefined],
    ]);
    expect(empty.body.entry).toHaveLength(1);
    const bad = await t.http().get(`/fhir/Subscription/${id}/$events`).query({ content: 'everything' });
    expect(bad.status).toBe(400);
    expect(bad.body.issue[0].expression).toEqual(['content']);
    const badNumber = await t.http().get(`/fhir/Subscription/${id}/$events`).query({ eventsSinceNumber: 'x' });
    expect(badNumber.status).toBe(400);
    expect((await t.http().get('/fhir/Subscription/nope/$status')).status).toBe(404);
  });

  it('$resend sends the events again from a number on, in order; what was not sent or is unknown is refused', async () => {
    const again = await Endpoint.start();
    const sub = await subscribe(t, restHook('Organization?name=Again', again.url));
    await untilStatus(t, sub, 'active');
    for (let i = 0; i < 3; i++) await createOrganization(t, 'Again');
    await waitFor('3 events', () => again.events(sub).length >= 3);
    await waitFor('marked delivered', async () => {
      const row = await t.storage.get<{ d: number | string }>(
        'SELECT delivered AS d FROM subscription_state WHERE id = ?',
        [sub],
      );
      return Number(row?.d) === 3;
    });
    const resend = (query: Record<string, string>) =>
      t.http().post(`/fhir/Subscription/${sub}/$resend`).query(query).set('Content-Type', FHIR_JSON);
    const res = await resend({ eventsSinceNumber: '2' });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.parameter[0]).toEqual({ name: 'resent', valueInteger: 2 });
    const events = await waitFor('2 and 3 again', () => again.events(sub).length >= 5 && again.events(sub));
    expect(events.map((e) => e.number)).toEqual([1, 2, 3, 2, 3]);
    expect((await resend({})).status).toBe(400);
    expect((await resend({ eventsSinceNumber: '9' })).status).toBe(422);
    expect((await t.http().post('/fhir/Subscription/nope/$resend').query({ eventsSinceNumber: '1' })).status).toBe(404);
    await again.close();
  });

  it('once the endpoint is back the missed events arrive too, and the CapabilityStatement lists the operations', async () => {
    endpoint().mode = 'up';
    const events = await waitFor('events 2 and 3', () => endpoint().events(id).length >= 3 && endpoint().events(id));
    expect(events.map((e) => e.number)).toEqual([1, 2, 3]);
    const cs = await t.http().get('/fhir/metadata');
    const sub = cs.body.rest[0].resource.find((r: { type: string }) => r.type === 'Subscription');
    const names = sub.operation.map((o: { name: string }) => o.name);
    expect(names).toEqual(expect.arrayContaining(['status', 'events', 'resend']));
    // $resend's definition is shipped in profiles/ and served, as every definition the statement names
    await loadConformance(t.services);
    const resend = sub.operation.find((o: { name: string }) => o.name === 'resend').definition;
    const found = await t.http().get('/fhir/OperationDefinition').query({ url: resend });
    expect(found.body.entry?.[0]?.resource).toMatchObject({ code: 'resend', instance: true });
  });
});
