import { describe, expect, it } from 'vitest';
import { BACKENDS } from '../support/backends.js';
import { FHIR_JSON, useServer, type TestServer } from '../support/server.js';
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

async function counters(t: TestServer, id: string) {
  const row = await t.storage.get<{ n: number | string; d: number | string }>(
    'SELECT events_since_start AS n, delivered AS d FROM subscription_state WHERE id = ?',
    [id],
  );
  return { events: Number(row?.n), delivered: Number(row?.d) };
}

/** A Subscription's life as the client and the clock move it: `end`, `off`, and asking again after `error`. */
describe.each(BACKENDS)('subscription lifecycle, on $name', (backend) => {
  const t = useServer(backend);
  useDelivery(t);
  const endpoint = useEndpoint();
  const put = (id: string, body: object) =>
    t.http().put(`/fhir/Subscription/${id}`).set('Content-Type', FHIR_JSON).send(body);

  it('is turned off by the server when its end has passed (R4 Subscription.end), with or without events', async () => {
    const end = new Date(t.clock.now().getTime() + 3600_000).toISOString();
    const quiet = await subscribe(t, { ...restHook('Organization?name=Quiet', endpoint().url), end });
    const busy = await subscribe(t, { ...restHook('Organization?name=Ending', endpoint().url), end });
    await untilStatus(t, quiet, 'active');
    await untilStatus(t, busy, 'active');
    t.clock.advance(2 * 3600_000);
    await untilStatus(t, quiet, 'off'); // nothing to send: turned off by the clock alone
    await createOrganization(t, 'Ending');
    await untilStatus(t, busy, 'off');
    expect(endpoint().events(busy)).toHaveLength(0);
    await createOrganization(t, 'Quiet');
    expect(await counters(t, quiet)).toEqual({ events: 0, delivered: 0 }); // off: no event recorded
  });

  it('refuses a new endpoint on an active subscription unless asked again with requested', async () => {
    const id = await subscribe(t, restHook('Organization?name=Moved', endpoint().url));
    await untilStatus(t, id, 'active');
    const other = await Endpoint.start();
    try {
      const current = (await t.http().get(`/fhir/Subscription/${id}`)).body;
      const moved = { ...current, channel: { ...current.channel, endpoint: other.url } };
      const refused = await put(id, moved);
      expect(refused.status).toBe(422);
      expect(refused.body.issue[0].expression).toEqual(['Subscription.status']);
      expect((await put(id, { ...moved, status: 'requested' })).status).toBe(200);
      await untilStatus(t, id, 'active');
      expect(other.received.filter((r) => r.kind === 'handshake')).toHaveLength(1);
    } finally {
      await other.close();
    }
  });

  it('records no events while the client has it off, and handshakes again when asked again', async () => {
    const id = await subscribe(t, restHook('Organization?name=Paused', endpoint().url));
    await untilStatus(t, id, 'active');
    const current = (await t.http().get(`/fhir/Subscription/${id}`)).body;
    expect((await put(id, { ...current, status: 'off' })).status).toBe(200);
    await createOrganization(t, 'Paused');
    expect(await counters(t, id)).toEqual({ events: 0, delivered: 0 });
    const off = (await t.http().get(`/fhir/Subscription/${id}`)).body;
    expect((await put(id, { ...off, status: 'requested' })).status).toBe(200);
    await untilStatus(t, id, 'active');
    await createOrganization(t, 'Paused');
    const [event] = await waitFor('the event', () => endpoint().events(id).length === 1 && endpoint().events(id));
    expect(event.number).toBe(1);
    const shakes = endpoint().received.filter((r) => r.kind === 'handshake' && r.subscription === `Subscription/${id}`);
    expect(shakes).toHaveLength(2);
  });

  it('sets error, sending nothing more, when its endpoint is taken off the allow-list', async () => {
    const id = await subscribe(t, restHook('Organization?name=Unlisted', endpoint().url));
    await untilStatus(t, id, 'active');
    t.services.subscriptions.allowLoopback = false; // the configuration changed (a restart with a new list)
    try {
      await createOrganization(t, 'Unlisted');
      await untilStatus(t, id, 'error');
      expect((await statusOf(t, id)).error).toMatch(/allow-list/);
      expect(endpoint().events(id)).toHaveLength(0);
    } finally {
      t.services.subscriptions.allowLoopback = true;
    }
  });

  it('keeps the events of a subscription in error; asked again, it delivers them all', async () => {
    const flaky = await Endpoint.start();
    const id = await subscribe(t, restHook('Organization?name=Revived', flaky.url));
    await untilStatus(t, id, 'active');
    flaky.mode = 'down';
    await createOrganization(t, 'Revived');
    await createOrganization(t, 'Revived');
    await waitFor('a refused attempt', () => flaky.refused >= 1);
    t.clock.advance(73 * 3600_000);
    await untilStatus(t, id, 'error');
    expect(await counters(t, id)).toEqual({ events: 2, delivered: 0 });
    flaky.mode = 'up';
    const stored = (await t.http().get(`/fhir/Subscription/${id}`)).body;
    const asked = await put(id, { ...stored, status: 'requested' });
    expect(asked.status, JSON.stringify(asked.body)).toBe(200);
    await untilStatus(t, id, 'active');
    expect((await statusOf(t, id)).error).toBeUndefined();
    const events = await waitFor('both events', () => flaky.events(id).length >= 2 && flaky.events(id));
    expect(events.map((e) => e.number)).toEqual([1, 2]);
    await flaky.close();
  });
});
