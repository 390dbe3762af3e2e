import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import request from 'supertest';
import { startChildServer, type ChildServer } from '../support/child-server.js';
import { BACKENDS } from '../support/backends.js';
import { BASE, FHIR_JSON, useServer } from '../support/server.js';
import { startDelivery } from '../../src/subscriptions/worker.js';
import { FAST, restHook, untilStatus, useEndpoint, waitFor } from './support.js';

/**
 * A `forlop serve` process killed (SIGKILL) after committing events and while sending the first: nothing
 * is lost. The events are in the outbox, unmarked; once the dead process's lease is gone, this node sends
 * them all — the first again (at least once: its answer never reached the dead process), in order.
 */
describe.each(BACKENDS)('a process killed between commit and delivery, on $name', (backend) => {
  const t = useServer(backend);
  let child: ChildServer | undefined;
  const endpoint = useEndpoint();
  beforeAll(async () => {
    child = await startChildServer(t.databaseUrl, {
      BASE_URL: BASE,
      DEADLINE_CRON: '',
      REGISTRY_CRON: '',
      MEASURE_CRON: '',
      REGISTRY_OUTBOX: '',
    });
  }, 180_000);
  afterAll(async () => {
    await child?.kill();
  });

  it('delivers after the restart what the killed process had committed', async () => {
    const node = () => request.agent(child!.baseUrl);
    const created = await node()
      .post('/fhir/Subscription')
      .set('Content-Type', FHIR_JSON)
      .send(restHook('Organization?name=Crash', endpoint().url));
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const id = created.body.id as string;
    await untilStatus(t, id, 'active'); // the child's worker made the handshake
    endpoint().mode = 'hang';
    for (let i = 0; i < 3; i++) {
      const res = await node()
        .post('/fhir/Organization')
        .set('Content-Type', FHIR_JSON)
        .send({ resourceType: 'Organization', name: 'Crash' });
      expect(res.status).toBe(201);
    }
    await waitFor('the child sending event 1', () => endpoint().hanging >= 1);
    await child!.kill();
    child = undefined;
    const state = await t.storage.get<{ n: number | string; d: number | string }>(
      'SELECT events_since_start AS n, delivered AS d FROM subscription_state WHERE id = ?',
      [id],
    );
    expect([Number(state?.n), Number(state?.d)]).toEqual([3, 0]); // committed, none marked delivered
    // its lease would expire after 60 s (nodes.test.ts shows a dead node's lease is waited out): here it is gone
    await t.storage.transaction((tx) => tx.run('DELETE FROM leases WHERE name = ?', [`subscription:${id}`]));
    endpoint().mode = 'up';
    const restarted = startDelivery(t.services, FAST);
    try {
      const events = await waitFor('the 3 events', () => endpoint().events(id).length >= 3 && endpoint().events(id));
      expect(events.map((e) => e.number)).toEqual([1, 2, 3]);
    } finally {
      await restarted.stop();
    }
  });
});
