import type { CapabilityStatement } from '@medplum/fhirtypes';
import { BACKPORT_SD, TOPICS, topicUrl } from './topics.js';

const TOPIC_CANONICAL = `${BACKPORT_SD}/capabilitystatement-subscriptiontopic-canonical`;
const WEBSOCKET = 'http://hl7.org/fhir/StructureDefinition/capabilitystatement-websocket';

/** The server's socket for websocket Subscriptions (src/http/websocket.ts): the base's ws(s) twin. */
export const websocketUrl = (baseUrl: string) => `${baseUrl.replace(/^http/, 'ws')}/websocket`;

/**
 * The CapabilityStatement with the shipped topics on its Subscription resource (R4 Backport IG:
 * `capabilitystatement-subscriptiontopic-canonical`, one per topic), so a client finds what it may
 * subscribe to, and where websocket subscribers bind (R4 `capabilitystatement-websocket` on `rest`).
 */
export function withSubscriptionTopics(cs: CapabilityStatement): CapabilityStatement {
  const rest = cs.rest?.[0];
  const base = cs.implementation?.url;
  if (rest && base) rest.extension = [...(rest.extension ?? []), { url: WEBSOCKET, valueUri: websocketUrl(base) }];
  for (const resource of cs.rest?.[0]?.resource ?? []) {
    if (resource.type !== 'Subscription') continue;
    resource.extension = [
      ...(resource.extension ?? []),
      ...TOPICS.map((t) => ({ url: TOPIC_CANONICAL, valueCanonical: topicUrl(t) })),
    ];
  }
  return cs;
}
