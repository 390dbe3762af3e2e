import { describe, expect, it } from 'vitest';
import { BACKENDS } from '../support/backends.js';
import { FHIR_JSON, useServer } from '../support/server.js';
import {
  createOrganization,
  Endpoint,
  restHook,
  statusOf,
  subscribe,
  untilStatus,
  useDelivery,
  useEndpoint,
  waitFor,
} from './support.js';

/** R4 rest-hook delivery over HTTP to real local endpoints: handshake, events in order, retries, isolation. */
describe.each(BACKENDS)('rest-hook delivery, on $name', (backend) => {
  const t = useServer(backend);
  // a long request timeout: a dead endpoint's request is still unanswered while the others are delivered
  useDelivery(t, { requestTimeoutMs: 15_000 });
  const endpoint = useEndpoint();

  it('handshakes (requested → active) with the channel headers, then sends a created resource', async () => {
    const payload = { payload: 'application/fhir+json', header: ['Authorization: Bearer s3cret'] };
    const id = await subscribe(t, restHook('Organization?name=Alpha', endpoint().url, payload));
    await untilStatus(t, id, 'active');
    const shake = endpoint().received.find((r) => r.kind === 'handshake' && r.subscription === `Subscription/${id}`);
    expect(shake).toMatchObject({ method: 'POST', path: '/hook', body: '' });
    expect(shake!.headers.authorization).toBe('Bearer s3cret');

    const org = await createOrganization(t, 'Alpha');
    await createOrganization(t, 'Beta'); // does not match: no event
    const [event] = await waitFor('the event', () => endpoint().events(id).length === 1 && endpoint().events(id));
    // R4 rest-hook with a payload: the version written, PUT to [endpoint]/[type]/[id]
    expect(event).toMatchObject({ method: 'PUT', path: `/hook/Organization/${org}`, number: 1 });
    expect(event.headers['content-type']).toBe(FHIR_JSON);
    expect(event.headers.authorization).toBe('Bearer s3cret');
    expect(JSON.parse(event.body)).toMatchObject({ resourceType: 'Organization', id: org, name: 'Alpha' });
  });

  it('without a payload, an empty POST to the endpoint', async () => {
    const id = await subscribe(t, restHook('Organization?name=Empty', endpoint().url));
    await untilStatus(t, id, 'active');
    await createOrganization(t, 'Empty');
    const [event] = await waitFor('the event', () => endpoint().events(id).length === 1 && endpoint().events(id));
    expect(event).toMatchObject({ method: 'POST', path: '/hook', body: '', number: 1 });
  });

  it('a transaction writing several matches gives one event each, numbered in the order written', async () => {
    const id = await subscribe(t, restHook('Organization?name=Batch', endpoint().url, { payload: FHIR_JSON }));
    await untilStatus(t, id, 'active');
    const entry = ['b-1', 'b-2', 'b-x', 'b-3'].map((orgId) => ({
      resource: { resourceType: 'Organization', id: orgId, name: orgId === 'b-x' ? 'Other' : 'Batch' },
      request: { method: 'PUT', url: `Organization/${orgId}` },
    }));
    const res = await t
      .http()
      .post('/fhir')
      .set('Content-Type', FHIR_JSON)
      .send({ resourceType: 'Bundle', type: 'transaction', entry });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const events = await waitFor('3 events', () => endpoint().events(id).length >= 3 && endpoint().events(id));
    expect(events.map((e) => [e.number, e.path])).toEqual([
      [1, '/hook/Organization/b-1'],
      [2, '/hook/Organization/b-2'],
      [3, '/hook/Organization/b-3'],
    ]);
  });

  it('concurrent transactions matching two subscriptions in opposite orders all commit, numbered gaplessly', async () => {
    const orgSub = await subscribe(t, restHook('Organization?name=Crossed', endpoint().url));
    const pracSub = await subscribe(t, restHook('Practitioner?name=Crossed', endpoint().url));
    await untilStatus(t, orgSub, 'active');
    await untilStatus(t, pracSub, 'active');
    const org = {
      resource: { resourceType: 'Organization', name: 'Crossed' },
      request: { method: 'POST', url: 'Organization' },
    };
    const prac = {
      resource: { resourceType: 'Practitioner', name: [{ family: 'Crossed' }] },
      request: { method: 'POST', url: 'Practitioner' },
    };
    // half write Organization then Practitioner, half the other way round: the counters must still be locked
    // in one order, or PostgreSQL would find a deadlock and abort some of them
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        t
          .http()
          .post('/fhir')
          .set('Content-Type', FHIR_JSON)
          .send({ resourceType: 'Bundle', type: 'transaction', entry: i % 2 ? [org, prac] : [prac, org] }),
      ),
    );
    expect(results.map((r) => r.status)).toEqual(Array(10).fill(200));
    for (const id of [orgSub, pracSub]) {
      const events = await waitFor('10 events', () => endpoint().events(id).length >= 10 && endpoint().events(id));
      expect(events.map((e) => e.number)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    }
  });

  it('a handshake that fails sets error with Subscription.error', async () => {
    const down = await Endpoint.start();
    down.mode = 'down';
    const id = await subscribe(t, restHook('Organization?name=Never', down.url));
    await untilStatus(t, id, 'error');
    expect((await statusOf(t, id)).error).toMatch(/handshake failed: the endpoint answered 503/);
    await down.close();
  });

  it('an endpoint down for a while gets every event afterwards, in order, numbered without gaps', async () => {
    const flaky = await Endpoint.start();
    const id = await subscribe(t, restHook('Organization?name=Gamma', flaky.url));
    await untilStatus(t, id, 'active');
    flaky.mode = 'down';
    for (let i = 0; i < 8; i++) await createOrganization(t, 'Gamma');
    await waitFor('several refused attempts (back-off)', () => flaky.refused >= 3);
    expect(flaky.events(id)).toHaveLength(0);
    flaky.mode = 'up';
    const events = await waitFor('all 8 events', () => flaky.events(id).length >= 8 && flaky.events(id));
    expect(events.map((e) => e.number)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect((await statusOf(t, id)).status).toBe('active');
    await flaky.close();
  });

  it('a dead endpoint (never answers) does not hold up a live one', async () => {
    const dead = await Endpoint.start();
    const live = await Endpoint.start();
    const deadId = await subscribe(t, restHook('Organization?name=Delta', dead.url));
    const liveId = await subscribe(t, restHook('Organization?name=Delta', live.url));
    await untilStatus(t, deadId, 'active');
    await untilStatus(t, liveId, 'active');
    dead.mode = 'hang';
    for (let i = 0; i < 3; i++) await createOrganization(t, 'Delta');
    const events = await waitFor(
      'the live endpoint’s 3 events',
      () => live.events(liveId).length >= 3 && live.events(liveId),
    );
    expect(events.map((e) => e.number)).toEqual([1, 2, 3]);
    // meanwhile the dead one's first request is still waiting out its 15 s timeout: one request, unanswered
    expect(dead.hanging).toBe(1);
    expect(dead.events(deadId)).toHaveLength(0);
    await dead.close();
    await live.close();
  });

  it('past the maximum age (the server clock moved 73 h) a failing subscription is set to error, audited', async () => {
    const gone = await Endpoint.start();
    const id = await subscribe(t, restHook('Organization?name=Epsilon', gone.url));
    await untilStatus(t, id, 'active');
    gone.mode = 'down';
    await createOrganization(t, 'Epsilon');
    await waitFor('a refused attempt', () => gone.refused >= 1);
    expect((await statusOf(t, id)).status).toBe('active'); // retried, not given up
    t.clock.advance(73 * 3600_000);
    await untilStatus(t, id, 'error');
    expect((await statusOf(t, id)).error).toMatch(/Event 1 could not be delivered within 72 h .*503/);
    const audit = await t
      .http()
      .get('/fhir/AuditEvent')
      .query({ entity: `Subscription/${id}` });
    expect(audit.body.entry?.length, JSON.stringify(audit.body)).toBe(1);
    expect(audit.body.entry[0].resource).toMatchObject({ outcome: '8', action: 'E' });
    await gone.close();
  });
});
