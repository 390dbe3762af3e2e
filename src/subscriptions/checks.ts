import type { Subscription } from '@medplum/fhirtypes';
import { FhirError } from '../fhir/errors.js';
import type { Services, WriteEvent, WriteReaction } from '../fhir/services.js';
import { parseCriteria } from './criteria.js';
import { endpointRefusal } from './endpoint.js';
import { checkPatientLimit } from './patient-limit.js';
import { contentOf, heartbeatMsOf, TOPIC_BASE, topicCriteria, topicOf, type Topic } from './topics.js';

/** The Backport IG's payload contents. */
const CONTENTS = new Set(['empty', 'id-only', 'full-resource']);

/** The payloads a rest-hook is delivered with: none (a ping) or the resource as FHIR JSON. */
const PAYLOADS = new Set(['application/fhir+json']);

const refuse = (message: string, expression: string) =>
  new FhirError('unprocessable', { message, expression: `Subscription.${expression}` });

/**
 * A Subscription the server would not honour is refused when it is written (422), never accepted and
 * left to sit: rest-hook (no payload or `application/fhir+json`, to an allowed endpoint) and websocket
 * (a ping only) are delivered (R4 §subscription channel types email, sms and message are not), on
 * criteria that parse as a search. The status is the server's to move (R4: the client asks with
 * `requested` or turns it `off`; `active` and `error` are set by the server). Its creator's token must
 * allow searching the criteria's type for every patient, or the criteria must be limited to the token's
 * own patient (src/subscriptions/patient-limit.ts; 403 otherwise).
 */
export const subscriptionChecks: WriteReaction = {
  type: 'Subscription',
  async check(svc: Services, _tx, event: WriteEvent, writer: Services): Promise<void> {
    // the server's own writes (status after a handshake, error after the last retry) pass
    if (event.origin !== 'request' || !event.after) return;
    const sub = event.after as Subscription;
    checkStatus(sub, event.before as Subscription | undefined);
    const topic = topicOf(sub);
    checkChannel(svc, sub, topic);
    // a topic-based subscription (R4 Backport IG) names a shipped topic, filtered; any other is a search
    if (!topic && /^[a-z]+:/.test(sub.criteria ?? ''))
      throw refuse(`'${sub.criteria}' is not a topic this server has (${TOPIC_BASE}/…)`, 'criteria');
    const criteria = topic ? topicCriteria(topic, sub) : sub.criteria;
    parseCriteria(svc, criteria);
    // events are matched as the server: the writer's token must reach every patient the criteria can match
    // (403), or a Subscription would show it resources it may not search
    checkPatientLimit(writer, criteria as string);
  },
};

function checkStatus(sub: Subscription, before: Subscription | undefined): void {
  if (sub.status === 'requested' || sub.status === 'off') return;
  if (!before || before.status !== sub.status)
    throw refuse(`Subscription.status '${sub.status}' is set by the server: ask with 'requested' (or 'off')`, 'status');
  // a client re-sending what the server set; a new endpoint is shaken hands with first
  if (sub.channel?.endpoint !== before.channel?.endpoint)
    throw refuse(`A new channel.endpoint needs a new handshake: send it with status 'requested'`, 'status');
}

function checkChannel(svc: Services, sub: Subscription, topic: Topic | undefined): void {
  const channel = sub.channel;
  if (channel?.type === 'websocket') return checkWebsocket(sub, topic);
  if (channel?.type !== 'rest-hook') {
    throw refuse(
      `Channel type '${channel?.type}' is not supported by this server (rest-hook or websocket)`,
      'channel.type',
    );
  }
  const payload = channel.payload?.split(';')[0]?.trim();
  if (payload !== undefined && !PAYLOADS.has(payload)) {
    throw refuse(`Payload '${channel.payload}' is not supported (none, or application/fhir+json)`, 'channel.payload');
  }
  // Backport IG: topic-based notifications are Bundles, so the payload is FHIR JSON; the content is said apart
  if (topic && payload === undefined)
    throw refuse('A topic-based Subscription needs channel.payload application/fhir+json', 'channel.payload');
  const heartbeat = heartbeatMsOf(sub);
  if (heartbeat !== undefined && (!topic || Number.isNaN(heartbeat)))
    throw refuse('A heartbeat period is a whole number of seconds (≥ 1), on a topic-based Subscription', 'channel');
  if (topic && !CONTENTS.has(contentOf(sub)))
    throw refuse(`Payload content '${contentOf(sub)}' is not one of ${[...CONTENTS].join(', ')}`, 'channel.payload');
  const refusal = endpointRefusal(svc.subscriptions, channel.endpoint);
  if (refusal) throw refuse(refusal, 'channel.endpoint');
  for (const header of channel.header ?? []) {
    if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+:\s*[^\r\n]*$/.test(header))
      throw refuse(`channel.header '${header.slice(0, 80)}' is not 'Name: value'`, 'channel.header');
  }
}

/**
 * R4 §subscription websockets: the client opens the server's socket (the CapabilityStatement's
 * `capabilitystatement-websocket`) and binds it; the server sends `ping [id]` and nothing else, so there is
 * no payload, endpoint or header to honour (422 rather than stored and ignored). The Backport IG's own
 * websocket flow (binding tokens, notification Bundles) is not offered: a topic-based one is refused too.
 */
function checkWebsocket(sub: Subscription, topic: Topic | undefined): void {
  const channel = sub.channel;
  if (topic) throw refuse('A topic-based Subscription is delivered by rest-hook only here', 'channel.type');
  if (channel.payload !== undefined)
    throw refuse(
      'A websocket Subscription is sent a ping only (no payload): leave channel.payload out',
      'channel.payload',
    );
  if (channel.endpoint !== undefined)
    throw refuse(
      "A websocket Subscription has no endpoint: the client binds to the server's socket",
      'channel.endpoint',
    );
  if (channel.header?.length)
    throw refuse('A websocket Subscription is sent no headers: leave channel.header out', 'channel.header');
  if (heartbeatMsOf(sub) !== undefined)
    throw refuse('A heartbeat period is a whole number of seconds (≥ 1), on a topic-based Subscription', 'channel');
}
