import type { Bundle, BundleEntry, Resource, Subscription } from '@medplum/fhirtypes';
import { newId } from '../fhir/ids.js';
import type { Services } from '../fhir/services.js';
import type { OutboxEvent } from '../storage/subscription-tables.js';
import { subscriptionStatus, type Content } from './status-parameters.js';
import { contentOf, topicOf, topicUrl } from './topics.js';

/**
 * A topic-based notification (R4 Backport IG): a `history` Bundle whose first entry is the
 * SubscriptionStatus (`handshake`, or `event-notification` with one `notification-event` per event), then
 * with `full-resource` content the versions the events were about. `id-only` names them in the status's
 * `focus` only, and `empty` not at all: neither carries patient data.
 */
export function notificationBundle(
  svc: Services,
  sub: Subscription,
  type: 'handshake' | 'heartbeat' | 'event-notification',
  eventsSinceStart: number,
  events: { event: OutboxEvent; resource?: Resource }[] = [],
): Bundle {
  const content = contentOf(sub) as Content;
  const topic = topicOf(sub);
  const status = subscriptionStatus(
    svc.baseUrl,
    sub,
    eventsSinceStart,
    type,
    events.map(({ event }) => ({ event, content })),
    topic && topicUrl(topic),
  );
  const statusEntry: BundleEntry = {
    fullUrl: `urn:uuid:${newId()}`,
    resource: status,
    request: { method: 'GET', url: `Subscription/${sub.id}/$status` },
    response: { status: '200' },
  };
  const resources: BundleEntry[] =
    content === 'full-resource'
      ? events.flatMap(({ resource }) =>
          resource
            ? [
                {
                  fullUrl: `${svc.baseUrl}/${resource.resourceType}/${resource.id}`,
                  resource,
                  request: { method: 'PUT' as const, url: `${resource.resourceType}/${resource.id}` },
                  response: { status: '200' },
                },
              ]
            : [],
        )
      : [];
  return {
    resourceType: 'Bundle',
    type: 'history',
    timestamp: svc.clock.now().toISOString(),
    entry: [statusEntry, ...resources],
  };
}
