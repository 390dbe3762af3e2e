import type { Resource, Subscription } from '@medplum/fhirtypes';
import type { Services } from '../fhir/services.js';
import type { Lease } from '../storage/lease.js';
import { auditDelivery } from './audit.js';
import { backoffMs, type Backoff } from './backoff.js';
import { endpointRefusal } from './endpoint.js';
import { eventNotification, handshake, heartbeat, send, type Notification } from './notify.js';
import { sign } from './signature.js';
import { moveStatus } from './status.js';
import { deliverPings } from './websocket-delivery.js';
import {
  eventsAfter,
  markDelivered,
  markFailed,
  markSent,
  readState,
  type OutboxEvent,
  type SubscriptionState,
} from '../storage/subscription-tables.js';

export interface DeliveryOptions {
  /** One request's time limit: a slow endpoint holds only its own subscription this long. */
  requestTimeoutMs: number;
  /** Aborted when the worker stops: no new request is started, one under way is cut short. */
  stop?: AbortSignal;
  /** The most events one run sends before it lets others have a turn. */
  batch: number;
  backoff: Backoff;
}

/**
 * One run for one subscription, under its lease (one node at a time): the handshake when it is
 * `requested`, else its undelivered events in order, each acknowledged (the `delivered` mark moved, the
 * lease checked, in one transaction) before the next is sent. The first failure ends the run and puts the
 * next attempt off; delivery is at least once (an event sent but not marked, the process dying between,
 * is sent again). Returns whether work is left (a full batch sent, or a handshake made).
 */
export async function deliverSubscription(
  svc: Services,
  id: string,
  lease: Lease,
  options: DeliveryOptions,
): Promise<boolean> {
  const db = svc.store.storage;
  const state = await readState(db, id);
  const row = await svc.store.current('Subscription', id);
  if (!state || !row?.content || row.deleted) return false;
  const sub = JSON.parse(row.content) as Subscription;
  // R4 §subscription `end`: the time for the server to turn this subscription off
  if (sub.end && Date.parse(sub.end) <= svc.clock.now().getTime()) {
    await moveStatus(svc, id, sub.status, 'off');
    return false;
  }
  if (sub.channel.type === 'websocket') return deliverPings(svc, sub, state, lease, options);
  // the allow-list is configuration: an endpoint taken off it since the Subscription was stored gets nothing more
  const refusal = endpointRefusal(svc.subscriptions, sub.channel.endpoint);
  if (refusal && (sub.status === 'requested' || sub.status === 'active')) {
    await moveStatus(svc, id, sub.status, 'error', refusal);
    return false;
  }
  if (state.status === 'requested' && sub.status === 'requested') return shake(svc, sub, state, options);
  if (state.status !== 'active' || sub.status !== 'active') return false;
  const events = await eventsAfter(db, id, state.delivered, options.batch);
  if (!events.length) return beat(svc, sub, state, options);
  let attempts = state.attempts;
  for (const event of events) {
    if (options.stop?.aborted) return false;
    const notification = await eventNotification(svc, sub, event);
    // a version no longer in history cannot be sent: it is passed over (history is never purged today)
    const sent = notification
      ? await send(signed(svc, notification), options.requestTimeoutMs, options.stop)
      : { ok: true };
    if (options.stop?.aborted) return false; // shutting down: neither delivered nor a failure of the endpoint
    if (!sent.ok) {
      await failed(svc, state, sub, event, { attempts: attempts + 1, error: sent.error ?? 'failed' }, options);
      return false;
    }
    await db.transaction(async (tx) => {
      await lease.hold(tx);
      await markDelivered(tx, id, event.number);
      const sentResource = notification?.body && sentResourceOf(JSON.parse(notification.body) as Resource);
      if (sentResource) await auditDelivery(svc, tx, sub, sentResource);
    });
    attempts = 0;
  }
  return events.length === options.batch;
}

const signed = (svc: Services, n: Notification) => sign(n, svc.subscriptions.hmacSecret, svc.clock.now());

/** The handshake (`requested` → `active` on a 2xx, else `error` with the reason in `Subscription.error`). */
async function shake(
  svc: Services,
  sub: Subscription,
  state: SubscriptionState,
  options: DeliveryOptions,
): Promise<boolean> {
  const sent = await send(
    signed(svc, handshake(svc, sub, state.eventsSinceStart)),
    options.requestTimeoutMs,
    options.stop,
  );
  if (options.stop?.aborted) return false;
  if (sent.ok) {
    await svc.store.storage.transaction((tx) => markSent(tx, state.id));
    return moveStatus(svc, sub.id as string, 'requested', 'active');
  }
  await moveStatus(svc, sub.id as string, 'requested', 'error', `The handshake failed: ${sent.error}`);
  return false;
}

/**
 * A heartbeat (Backport IG `backport-heartbeat-period`) when the endpoint has been sent nothing for that
 * long: it tells the subscriber the subscription is alive and how many events there have been. A failed
 * one is retried after a back-off; it has no event to age, so it never sets the subscription to error.
 */
async function beat(svc: Services, sub: Subscription, state: SubscriptionState, options: DeliveryOptions) {
  if (state.heartbeatMs === null || state.lastSent + state.heartbeatMs > Date.now()) return false;
  const sent = await send(
    signed(svc, heartbeat(svc, sub, state.eventsSinceStart)),
    options.requestTimeoutMs,
    options.stop,
  );
  if (options.stop?.aborted) return false;
  const attempts = state.attempts + 1;
  const next = Date.now() + backoffMs(attempts, options.backoff);
  await svc.store.storage.transaction((tx) =>
    sent.ok ? markSent(tx, state.id) : markFailed(tx, state.id, attempts, next, sent.error ?? 'failed'),
  );
  return false;
}

/**
 * A failed attempt: retried after a back-off while the oldest undelivered event is younger than the
 * maximum age (by the server's clock); past it the subscription is set to `error`, with the reason and an
 * AuditEvent, and its events stay in the outbox (a client that asks again with `requested` gets them).
 */
async function failed(
  svc: Services,
  state: SubscriptionState,
  sub: Subscription,
  event: OutboxEvent,
  failure: { attempts: number; error: string },
  options: DeliveryOptions,
): Promise<void> {
  const next = Date.now() + backoffMs(failure.attempts, options.backoff);
  await svc.store.storage.transaction((tx) => markFailed(tx, state.id, failure.attempts, next, failure.error));
  const age = svc.clock.now().getTime() - event.created;
  if (age < svc.subscriptions.maxAgeMs) return;
  const hours = Math.round(svc.subscriptions.maxAgeMs / 3600_000);
  const why = `Event ${event.number} could not be delivered within ${hours} h (${failure.attempts} attempts): ${failure.error}`;
  await moveStatus(svc, state.id, sub.status, 'error', why);
}

/**
 * The resource a notification carried out of the server, if any: the body itself (R4 core), or the
 * resource entry after the SubscriptionStatus of a Backport Bundle (`full-resource`); `id-only` and
 * `empty` Bundles carry none.
 */
function sentResourceOf(body: Resource): Resource | undefined {
  if (body.resourceType !== 'Bundle') return body;
  return body.entry?.find((e) => e.resource && e.resource.resourceType !== 'Parameters')?.resource;
}
