import type { Resource, Subscription } from '@medplum/fhirtypes';
import type { Services } from '../fhir/services.js';
import { notificationBundle } from './backport.js';
import type { OutboxEvent } from '../storage/subscription-tables.js';
import { topicOf } from './topics.js';

const FHIR_JSON = 'application/fhir+json';

/** One HTTP request to a subscriber's endpoint. */
export interface Notification {
  url: string;
  method: 'POST' | 'PUT' | 'DELETE';
  headers: Record<string, string>;
  body?: string;
}

/** How a request went: `ok` on a 2xx, else why not (status, timeout, refused connection). */
export interface Sent {
  ok: boolean;
  error?: string;
}

/**
 * The headers of every request: the subscription's own `channel.header`s (R4 §subscription: "Additional
 * headers / information to send as part of the notification"), and the subscription and event number,
 * so the endpoint can tell a gap (a missed event) from a duplicate (delivery is at least once).
 */
function headersOf(
  sub: Subscription,
  number: number,
  kind: 'handshake' | 'heartbeat' | 'event',
): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const h of sub.channel.header ?? []) {
    const at = h.indexOf(':');
    headers[h.slice(0, at).trim()] = h.slice(at + 1).trim();
  }
  headers['Forlop-Subscription'] = `Subscription/${sub.id}`;
  headers['Forlop-Event-Number'] = String(number);
  headers['Forlop-Notification'] = kind;
  return headers;
}

/**
 * The handshake on activation, which the endpoint must answer with a 2xx: an empty POST (R4 core), or for a
 * topic-based subscription the Backport IG's handshake Bundle.
 */
export function handshake(svc: Services, sub: Subscription, eventsSinceStart: number): Notification {
  const headers = headersOf(sub, 0, 'handshake');
  const url = sub.channel.endpoint as string;
  if (!topicOf(sub)) return { url, method: 'POST', headers };
  const body = JSON.stringify(notificationBundle(svc, sub, 'handshake', eventsSinceStart));
  return { url, method: 'POST', headers: { ...headers, 'Content-Type': FHIR_JSON }, body };
}

/** A heartbeat (Backport IG): the SubscriptionStatus alone, saying how many events there have been. */
export function heartbeat(svc: Services, sub: Subscription, eventsSinceStart: number): Notification {
  const headers = { ...headersOf(sub, 0, 'heartbeat'), 'Content-Type': FHIR_JSON };
  const body = JSON.stringify(notificationBundle(svc, sub, 'heartbeat', eventsSinceStart));
  return { url: sub.channel.endpoint as string, method: 'POST', headers, body };
}

/**
 * One event as R4 core rest-hook delivers it: with no payload an empty POST to the endpoint (the client
 * searches for what changed); with `application/fhir+json` the version written, PUT to
 * `[endpoint]/[type]/[id]` (R4 §subscription, rest-hook with a payload), or for a deletion (which has no
 * body) a DELETE there, as a RESTful copy of the resource would be told. The version is read from history:
 * a later change does not alter what this event carries. Undefined when that version is gone.
 */
export async function eventNotification(
  svc: Services,
  sub: Subscription,
  event: OutboxEvent,
): Promise<Notification | undefined> {
  const headers = headersOf(sub, event.number, 'event');
  const endpoint = (sub.channel.endpoint as string).replace(/\/+$/, '');
  if (!sub.channel.payload) return { url: endpoint, method: 'POST', headers };
  const row = await svc.store.version(event.type, event.id, event.version);
  if (row?.deleted && !topicOf(sub)) return { url: `${endpoint}/${event.type}/${event.id}`, method: 'DELETE', headers };
  if (!row?.content) return undefined;
  headers['Content-Type'] = FHIR_JSON;
  if (topicOf(sub)) {
    // Backport IG: the event-notification Bundle, POSTed to the endpoint as it is
    const resource = JSON.parse(row.content) as Resource;
    const bundle = notificationBundle(svc, sub, 'event-notification', event.number, [{ event, resource }]);
    return { url: sub.channel.endpoint as string, method: 'POST', headers, body: JSON.stringify(bundle) };
  }
  return { url: `${endpoint}/${event.type}/${event.id}`, method: 'PUT', headers, body: row.content };
}

/**
 * Sends one request, given up after `timeoutMs` (one slow endpoint holds only its own subscription) or
 * when `stop` aborts (the server shutting down: the event stays undelivered, for the next node).
 */
export async function send(n: Notification, timeoutMs: number, stop?: AbortSignal): Promise<Sent> {
  try {
    const res = await fetch(n.url, {
      method: n.method,
      headers: n.headers,
      body: n.body,
      redirect: 'manual',
      signal: stop ? AbortSignal.any([AbortSignal.timeout(timeoutMs), stop]) : AbortSignal.timeout(timeoutMs),
    });
    await res.arrayBuffer().catch(() => undefined);
    return res.ok ? { ok: true } : { ok: false, error: `the endpoint answered ${res.status}` };
  } catch (err) {
    const e = err as Error & { cause?: { code?: string } };
    const why = e.name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : (e.cause?.code ?? e.message);
    return { ok: false, error: `the endpoint could not be reached: ${why}` };
  }
}
