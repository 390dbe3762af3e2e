import type { Subscription } from '@medplum/fhirtypes';
import type { Services } from '../fhir/services.js';
import type { Lease } from '../storage/lease.js';
import { eventsAfter, markDelivered, type SubscriptionState } from '../storage/subscription-tables.js';
import { moveStatus } from './status.js';

/** What a bound socket is sent for each event (R4 §subscription websockets): the subscription's id, nothing more. */
export const pingOf = (id: string) => `ping ${id}`;

/**
 * One run for a websocket subscription, under its lease. A `requested` one is made `active` at once: R4
 * has the server set `active` once it has set a subscription up, and a websocket has no endpoint to shake
 * hands with — a socket comes and goes, and whether one is bound is not the subscription's status.
 * An `active` one pings the sockets bound on this node, one ping per undelivered event, in order, each
 * marked delivered once written to a socket. With no socket bound the events wait in the outbox (no
 * back-off, no `error`: an absent client is not a failing endpoint), to be pinged after the next bind.
 */
export async function deliverPings(
  svc: Services,
  sub: Subscription,
  state: SubscriptionState,
  lease: Lease,
  options: { batch: number; stop?: AbortSignal },
): Promise<boolean> {
  const id = sub.id as string;
  if (state.status === 'requested' && sub.status === 'requested') return moveStatus(svc, id, 'requested', 'active');
  if (state.status !== 'active' || sub.status !== 'active') return false;
  const db = svc.store.storage;
  const events = await eventsAfter(db, id, state.delivered, options.batch);
  for (const event of events) {
    const sockets = svc.subscriptionSignal.sockets.socketsOf(id);
    if (options.stop?.aborted || !sockets.length) return false;
    const sent = await Promise.allSettled(sockets.map((socket) => socket.send(pingOf(id))));
    // every socket closed meanwhile: the event stays for the next bind
    if (!sent.some((s) => s.status === 'fulfilled')) return false;
    await db.transaction(async (tx) => {
      await lease.hold(tx);
      await markDelivered(tx, id, event.number);
    });
  }
  return events.length === options.batch;
}
