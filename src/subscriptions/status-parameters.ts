import type { Parameters, ParametersParameter, Subscription } from '@medplum/fhirtypes';
import type { OutboxEvent } from '../storage/subscription-tables.js';

/** The notification types of the R4 Backport IG's SubscriptionStatus (`type`). */
export type StatusType = 'handshake' | 'heartbeat' | 'event-notification' | 'query-status' | 'query-event';

/** What a notification-event says of an event: its number and time, and with `id-only`/`full-resource` its focus. */
export type Content = 'empty' | 'id-only' | 'full-resource';

/**
 * A SubscriptionStatus as the R4 Backport IG has it (a Parameters of the backport-subscription-status-r4
 * profile): the subscription, its status, the notification type, `events-since-subscription-start` (a
 * string: R4 has no integer64), and one `notification-event` per event. A client that compares the last
 * event number it received with `events-since-subscription-start` knows whether it missed any.
 */
export function subscriptionStatus(
  baseUrl: string,
  sub: Subscription,
  eventsSinceStart: number,
  type: StatusType,
  events: { event: OutboxEvent; content: Content }[] = [],
  topic?: string,
): Parameters {
  const parameter: ParametersParameter[] = [
    { name: 'subscription', valueReference: { reference: `${baseUrl}/Subscription/${sub.id}` } },
    ...(topic ? [{ name: 'topic', valueCanonical: topic }] : []),
    { name: 'status', valueCode: sub.status },
    { name: 'type', valueCode: type },
    { name: 'events-since-subscription-start', valueString: String(eventsSinceStart) },
  ];
  for (const { event, content } of events) {
    const part: ParametersParameter[] = [
      { name: 'event-number', valueString: String(event.number) },
      { name: 'timestamp', valueInstant: new Date(event.created).toISOString() },
    ];
    // `empty` carries no identifiers at all: nothing about a patient leaves the server in it
    if (content !== 'empty') part.push({ name: 'focus', valueReference: { reference: `${event.type}/${event.id}` } });
    parameter.push({ name: 'notification-event', part });
  }
  if (sub.error) parameter.push({ name: 'error', valueCodeableConcept: { text: sub.error } });
  return { resourceType: 'Parameters', parameter };
}
