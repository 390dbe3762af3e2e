import type { CapabilityStatement } from '@medplum/fhirtypes';
import { BACKPORT_SD, TOPICS, topicUrl } from './topics.js';

const TOPIC_CANONICAL = `${BACKPORT_SD}/capabilitystatement-subscriptiontopic-canonical`;

/**
 * The CapabilityStatement with the shipped topics on its Subscription resource (R4 Backport IG:
 * `capabilitystatement-subscriptiontopic-canonical`, one per topic), so a client finds what it may
 * subscribe to.
 */
export function withSubscriptionTopics(cs: CapabilityStatement): CapabilityStatement {
  for (const resource of cs.rest?.[0]?.resource ?? []) {
    if (resource.type !== 'Subscription') continue;
    resource.extension = [
      ...(resource.extension ?? []),
      ...TOPICS.map((t) => ({ url: TOPIC_CANONICAL, valueCanonical: topicUrl(t) })),
    ];
  }
  return cs;
}
