import { describe, expect, it } from 'vitest';
import type { Bundle, Parameters } from '@medplum/fhirtypes';
import { BACKENDS } from '../support/backends.js';
import { FHIR_JSON, useServer } from '../support/server.js';
import { createOrganization, restHook, subscribe, untilStatus, useDelivery, useEndpoint, waitFor } from './support.js';

/**
 * A deleted resource that matched a subscription's criteria just before is an event (the Backport's
 * `delete` trigger): a ping, or with a payload a DELETE of [endpoint]/[type]/[id] — it has no body left.
 */
describe.each(BACKENDS)('deletions notified, on $name', (backend) => {
  const t = useServer(backend);
  useDelivery(t);
  const endpoint = useEndpoint();
  const remove = async (id: string) => expect((await t.http().delete(`/fhir/Organization/${id}`)).status).toBe(204);

  it('pings a deletion of a resource that matched, and not one that did not', async () => {
    const id = await subscribe(t, restHook('Organization?name=Gone', endpoint().url));
    await untilStatus(t, id, 'active');
    const gone = await createOrganization(t, 'Gone');
    const other = await createOrganization(t, 'Stays');
    await remove(other); // never matched: no event
    await remove(gone);
    const events = await waitFor('2 events', () => endpoint().events(id).length >= 2 && endpoint().events(id));
    expect(events.map((e) => [e.method, e.number, e.body])).toEqual([
      ['POST', 1, ''],
      ['POST', 2, ''],
    ]);
    await new Promise((r) => setTimeout(r, 200));
    expect(endpoint().events(id)).toHaveLength(2);
  });

  it('sends a deletion as DELETE [endpoint]/[type]/[id] with a payload, with no body', async () => {
    const id = await subscribe(t, restHook('Organization?name=Dropped', endpoint().url, { payload: FHIR_JSON }));
    await untilStatus(t, id, 'active');
    const org = await createOrganization(t, 'Dropped');
    await remove(org);
    const events = await waitFor('2 events', () => endpoint().events(id).length >= 2 && endpoint().events(id));
    expect(events.map((e) => [e.method, e.path, e.number])).toEqual([
      ['PUT', `/hook/Organization/${org}`, 1],
      ['DELETE', `/hook/Organization/${org}`, 2],
    ]);
    expect(events[1].body).toBe('');
    // $events names the deleted resource as the focus, and has no body for it
    const res = await t.http().get(`/fhir/Subscription/${id}/$events?content=full-resource`);
    const bundle = res.body as Bundle;
    const status = bundle.entry?.[0].resource as Parameters;
    const focus = status.parameter
      ?.filter((p) => p.name === 'notification-event')
      .map((p) => p.part?.find((q) => q.name === 'focus')?.valueReference?.reference);
    expect(focus).toEqual([`Organization/${org}`, `Organization/${org}`]);
    expect(bundle.entry).toHaveLength(2); // the status and the version created; the deletion has no body
  });
});
