import { FhirError } from '../fhir/errors.js';
import { operationInput } from '../fhir/operations/parameters.js';
import type { Operation } from '../fhir/operations/types.js';
import type { Services } from '../fhir/services.js';
import { Lease } from '../storage/lease.js';
import { oldestEvent, readState, rewindDelivered } from '../storage/subscription-tables.js';

/**
 * `POST [base]/Subscription/[id]/$resend?eventsSinceNumber=n`: sends the subscription's events again from
 * number n on, in order (a subscriber that lost what it had received). The delivered mark is moved back
 * under the subscription's lease, so a delivery under way finishes first and the next one starts at n.
 * Only events still kept (the retention period) can be sent again; the subscription must be active.
 */
export const resendOperation: Operation = {
  name: 'resend',
  definition: 'http://forlop.no/fhir/OperationDefinition/subscription-resend',
  levels: ['instance'],
  resourceTypes: ['Subscription'],
  methods: ['POST'],
  // it changes what the server will send: updating the Subscription, not reading it
  access: () => [{ type: 'Subscription', action: 'u' }],
  async handler(svc, req, target) {
    const id = target.id as string;
    const raw = operationInput(req).get('eventsSinceNumber')?.[0];
    if (typeof raw !== 'string' || !/^[1-9]\d{0,14}$/.test(raw))
      throw new FhirError('invalid', {
        message: 'eventsSinceNumber (≥ 1) is required',
        expression: 'eventsSinceNumber',
      });
    const resent = await moveBack(svc, id, Number(raw));
    svc.subscriptionSignal.notify();
    return {
      status: 200,
      resource: { resourceType: 'Parameters', parameter: [{ name: 'resent', valueInteger: resent }] },
    };
  },
};

/** Moves the delivered mark back to `since - 1` under the lease; returns how many events will be sent again. */
async function moveBack(svc: Services, id: string, since: number): Promise<number> {
  const db = svc.store.storage;
  const lease = await Lease.acquire(db, `subscription:${id}`, { ttlMs: 30_000, waitMs: 15_000 });
  try {
    const state = await readState(db, id);
    if (!state) throw new FhirError('not-found', `Subscription/${id} is not known`);
    const refuse = (message: string) => new FhirError('unprocessable', { message, expression: 'eventsSinceNumber' });
    if (state.status !== 'active') throw refuse(`Subscription/${id} is ${state.status}, not active`);
    if (since > state.delivered) throw refuse(`Events from ${since} have not all been sent yet: nothing to send again`);
    const oldest = await oldestEvent(db, id);
    if (oldest === undefined || oldest > since)
      throw refuse(`Event ${since} is past the retention period and cannot be sent again`);
    await db.transaction(async (tx) => {
      await lease.hold(tx);
      await rewindDelivered(tx, id, since);
    });
    return state.delivered - since + 1;
  } finally {
    await lease.release();
  }
}
