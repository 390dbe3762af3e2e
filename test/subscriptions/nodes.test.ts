import { afterAll, describe, expect, it } from 'vitest';
import { startDelivery, type DeliveryWorker } from '../../src/subscriptions/worker.js';
import { BACKENDS } from '../support/backends.js';
import { useServer, type TestServer } from '../support/server.js';
import {
  createOrganization,
  Endpoint,
  FAST,
  otherNode,
  restHook,
  subscribe,
  untilStatus,
  useEndpoint,
  waitFor,
} from './support.js';

const outbox = async (t: TestServer, id: string) => {
  const row = await t.storage.get<{ n: number | string; d: number | string }>(
    'SELECT events_since_start AS n, delivered AS d FROM subscription_state WHERE id = ?',
    [id],
  );
  return { events: Number(row?.n), delivered: Number(row?.d) };
};

/** What survives a process, and what two processes on one database share: the outbox and the leases. */
describe.each(BACKENDS)('delivery across nodes, on $name', (backend) => {
  const t = useServer(backend);
  let first: DeliveryWorker | undefined;
  const endpoint = useEndpoint();
  afterAll(async () => {
    await first?.stop();
  });

  it('events committed but not sent (the node stopped) are sent by the next node after a restart', async () => {
    first = startDelivery(t.services, FAST);
    const id = await subscribe(t, restHook('Organization?name=Restart', endpoint().url));
    await untilStatus(t, id, 'active');
    await first.stop(); // the node goes away: nothing more is sent from it
    for (let i = 0; i < 3; i++) await createOrganization(t, 'Restart');
    expect(await outbox(t, id)).toEqual({ events: 3, delivered: 0 }); // committed with the writes, unsent
    expect(endpoint().events(id)).toHaveLength(0);
    const next = await otherNode(t);
    try {
      const events = await waitFor('the 3 events', () => endpoint().events(id).length >= 3 && endpoint().events(id));
      expect(events.map((e) => e.number)).toEqual([1, 2, 3]);
      await waitFor('delivered marked', async () => (await outbox(t, id)).delivered === 3);
    } finally {
      await next.close();
    }
  });

  it('a worker stopped (shutdown) while a request hangs stops at once, the event neither sent nor failed', async () => {
    const hung = await Endpoint.start();
    const worker = startDelivery(t.services, { ...FAST, requestTimeoutMs: 60_000 });
    const id = await subscribe(t, restHook('Organization?name=Shutdown', hung.url));
    await untilStatus(t, id, 'active');
    hung.mode = 'hang';
    await createOrganization(t, 'Shutdown');
    await waitFor('the request hanging', () => hung.hanging >= 1);
    const started = Date.now();
    await worker.stop();
    expect(Date.now() - started).toBeLessThan(5_000); // not the 60 s request timeout
    const row = await t.storage.get<{ d: number | string; a: number | string }>(
      'SELECT delivered AS d, attempts AS a FROM subscription_state WHERE id = ?',
      [id],
    );
    expect([Number(row?.d), Number(row?.a)]).toEqual([0, 0]); // left for the next node, no back-off counted
    await hung.close();
  });

  it('a lease left by a dead node is taken over when it expires', async () => {
    const helper = startDelivery(t.services, FAST);
    const id = await subscribe(t, restHook('Organization?name=Lease', endpoint().url));
    await untilStatus(t, id, 'active');
    await helper.stop();
    // a node that died while delivering: its lease stays until it expires
    const expires = Date.now() + 1_500;
    await t.storage.transaction((tx) =>
      tx.run('INSERT INTO leases (name, holder, expires) VALUES (?, ?, ?)', [`subscription:${id}`, 'dead', expires]),
    );
    await createOrganization(t, 'Lease');
    const next = await otherNode(t);
    try {
      const [event] = await waitFor('the event', () => endpoint().events(id).length >= 1 && endpoint().events(id));
      expect(event.number).toBe(1);
      expect(Date.now()).toBeGreaterThanOrEqual(expires); // not before the dead node's lease ran out
    } finally {
      await next.close();
    }
  });

  it('two nodes delivering side by side send each event once, in order', async () => {
    const a = startDelivery(t.services, FAST);
    const b = await otherNode(t);
    try {
      const names = ['TwoA', 'TwoB', 'TwoC'];
      const ids: string[] = [];
      for (const name of names) ids.push(await subscribe(t, restHook(`Organization?name=${name}`, endpoint().url)));
      for (const id of ids) await untilStatus(t, id, 'active');
      for (let i = 0; i < 10; i++) for (const name of names) await createOrganization(t, name);
      for (const id of ids) {
        await waitFor(`10 events of ${id}`, () => endpoint().events(id).length >= 10);
        await waitFor('delivered marked', async () => (await outbox(t, id)).delivered === 10);
        // at least once, and here exactly once: no event twice, none missing, in order
        expect(
          endpoint()
            .events(id)
            .map((e) => e.number),
        ).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
      }
      const handshakes = endpoint().received.filter(
        (r) => r.kind === 'handshake' && ids.includes(r.subscription.slice(13)),
      );
      expect(handshakes).toHaveLength(3);
    } finally {
      await a.stop();
      await b.close();
    }
  });
});
