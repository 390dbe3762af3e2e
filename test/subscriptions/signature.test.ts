import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { BACKENDS } from '../support/backends.js';
import { useServer } from '../support/server.js';
import { createOrganization, restHook, subscribe, untilStatus, useDelivery, useEndpoint, waitFor } from './support.js';

const SECRET = 'a shared secret of at least 32 characters';

/** With SUBSCRIPTION_HMAC_SECRET every notification is signed; the endpoint checks it with the secret. */
describe.each(BACKENDS)('signed notifications, on $name', (backend) => {
  const t = useServer(backend, { subscriptions: { hmacSecret: SECRET } });
  useDelivery(t);
  const endpoint = useEndpoint();

  it('signs the handshake and each event over time, subscription, number and body', async () => {
    const id = await subscribe(
      t,
      restHook('Organization?name=Signed', endpoint().url, { payload: 'application/fhir+json' }),
    );
    await untilStatus(t, id, 'active');
    await createOrganization(t, 'Signed');
    const [event] = await waitFor('the event', () => endpoint().events(id).length === 1 && endpoint().events(id));
    const shake = endpoint().received.find((r) => r.kind === 'handshake' && r.subscription === `Subscription/${id}`)!;
    for (const r of [shake, event]) {
      const [, seconds, v1] = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(String(r.headers['forlop-signature'])) ?? [];
      expect(seconds, 'a signature header').toBeDefined();
      expect(Number(seconds)).toBe(Math.floor(Date.parse('2026-10-01T08:00:00Z') / 1000)); // the server's clock
      const text = `${seconds}.Subscription/${id}.${r.number}.${r.body}`;
      expect(v1).toBe(createHmac('sha256', SECRET).update(text).digest('hex'));
    }
    // the body is covered: an altered one would not verify
    const altered = `${event.headers['forlop-signature']}`.split('v1=')[1];
    expect(altered).not.toBe(createHmac('sha256', SECRET).update(`x${event.body}`).digest('hex'));
  });
});
