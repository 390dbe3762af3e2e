import { describe, expect, it } from 'vitest';
import type { Parameters } from '@medplum/fhirtypes';
import { BACKENDS } from '../support/backends.js';
import { useServer } from '../support/server.js';
import { createOrganization, restHook, subscribe, untilStatus, useDelivery, useEndpoint, waitFor } from './support.js';

const DAY = 24 * 3600_000;

/** `$events` answers within a retention period: delivered events past it go; undelivered ones never do. */
describe.each(BACKENDS)('event retention, on $name', (backend) => {
  const t = useServer(backend, { subscriptions: { retentionMs: DAY } });
  useDelivery(t, { purgeMs: 20 });
  const endpoint = useEndpoint();
  const numbersIn$events = async (id: string) => {
    const res = await t.http().get(`/fhir/Subscription/${id}/$events`).query({ eventsSinceNumber: '1' });
    expect(res.status).toBe(200);
    const status = res.body.entry[0].resource as Parameters;
    return (status.parameter ?? [])
      .filter((p) => p.name === 'notification-event')
      .map((p) => p.part?.find((q) => q.name === 'event-number')?.valueString);
  };

  it('deletes delivered events older than the retention period and keeps an undelivered one', async () => {
    const id = await subscribe(t, restHook('Organization?name=Kept', endpoint().url));
    await untilStatus(t, id, 'active');
    await createOrganization(t, 'Kept');
    await createOrganization(t, 'Kept');
    await waitFor('events 1 and 2', () => endpoint().events(id).length >= 2);
    endpoint().mode = 'down';
    await createOrganization(t, 'Kept');
    expect(await numbersIn$events(id)).toEqual(['1', '2', '3']);
    t.clock.advance(2 * DAY); // within the 72 h maximum age: event 3 is still being retried
    await waitFor('1 and 2 purged', async () => (await numbersIn$events(id)).length === 1);
    expect(await numbersIn$events(id)).toEqual(['3']);
    const status = await t.http().get(`/fhir/Subscription/${id}/$status`);
    const count = (status.body.entry[0].resource as Parameters).parameter?.find(
      (p) => p.name === 'events-since-subscription-start',
    );
    expect(count?.valueString).toBe('3'); // the count does not go back
  });
});
