import type { Bundle, BundleEntry, Resource, Subscription } from '@medplum/fhirtypes';
import { FhirError } from '../fhir/errors.js';
import { ID_PATTERN, newId } from '../fhir/ids.js';
import { operationInput } from '../fhir/operations/parameters.js';
import type { Operation } from '../fhir/operations/types.js';
import type { FhirRequest } from '../fhir/request.js';
import type { Services } from '../fhir/services.js';
import type { VersionRow } from '../fhir/store.js';
import { eventsAfter, readState, type OutboxEvent } from '../storage/subscription-tables.js';
import { subscriptionStatus, type Content } from './status-parameters.js';
import { contentOf, topicOf, topicUrl } from './topics.js';

/** The most events one `$events` answer holds (ask again from the next number for more). */
export const MAX_EVENTS_PER_QUERY = 100;

const BACKPORT = 'http://hl7.org/fhir/uv/subscriptions-backport/OperationDefinition';

/** The Subscription and its outbox counter, or 404. */
async function subscriptionOf(
  svc: Services,
  id: string,
): Promise<{ sub: Subscription; eventsSinceStart: number; topic?: string }> {
  const row = await svc.store.current('Subscription', id);
  if (!row?.content || row.deleted) throw new FhirError('not-found', `Subscription/${id} is not known`);
  const state = await readState(svc.store.storage, id);
  const sub = JSON.parse(row.content) as Subscription;
  const topic = topicOf(sub);
  return { sub, eventsSinceStart: state?.eventsSinceStart ?? 0, topic: topic && topicUrl(topic) };
}

/** The most subscriptions one type-level `$status` names. */
const MAX_STATUS_IDS = 100;

/**
 * `GET [base]/Subscription/[id]/$status`, or `GET [base]/Subscription/$status?id=a,b&status=active` (R4
 * Backport IG, backport-subscription-status): a searchset Bundle with the SubscriptionStatus of each
 * subscription — its status, error and the number of events since it started, so a client can tell
 * whether it missed any. At type level `id` is required (the server does not list every subscription);
 * unknown ids are left out, and `status` keeps those with one of the statuses given.
 */
export const statusOperation: Operation = {
  name: 'status',
  definition: `${BACKPORT}/backport-subscription-status`,
  levels: ['type', 'instance'],
  resourceTypes: ['Subscription'],
  methods: ['GET', 'POST'],
  async handler(svc, req, target) {
    const input = operationInput(req);
    const wanted = (input.get('status') ?? []).flatMap((v) => String(v).split(','));
    const entry: BundleEntry[] = [];
    for (const id of target.id ? [target.id] : idsOf(input)) {
      const found = target.id ? await subscriptionOf(svc, id) : await subscriptionOf(svc, id).catch(() => undefined);
      if (!found || (wanted.length && !wanted.includes(found.sub.status))) continue;
      const status = subscriptionStatus(
        svc.baseUrl,
        found.sub,
        found.eventsSinceStart,
        'query-status',
        [],
        found.topic,
      );
      entry.push({ fullUrl: `urn:uuid:${newId()}`, resource: status, search: { mode: 'match' } });
    }
    const bundle: Bundle = { resourceType: 'Bundle', type: 'searchset', total: entry.length, entry };
    return { status: 200, resource: bundle };
  },
};

/** The `id` values of a type-level `$status` (repeated or comma-separated), checked. */
function idsOf(input: Map<string, unknown[]>): string[] {
  const ids = (input.get('id') ?? []).flatMap((v) => String(v).split(',')).filter(Boolean);
  const bad = (message: string) => new FhirError('invalid', { message, expression: 'id' });
  if (!ids.length) throw bad('$status on Subscription needs the id of one or more subscriptions');
  if (ids.length > MAX_STATUS_IDS) throw bad(`$status takes at most ${MAX_STATUS_IDS} ids`);
  for (const id of ids) if (!ID_PATTERN.test(id)) throw bad(`'${id.slice(0, 80)}' is not an id`);
  return ids;
}

/**
 * `GET [base]/Subscription/[id]/$events` (R4 Backport IG, backport-subscription-events): the events of a
 * range of numbers (`eventsSinceNumber`, `eventsUntilNumber`, both inclusive; the last 100 by default),
 * as a `history` Bundle with the SubscriptionStatus (`query-event`) first, then with `full-resource` the
 * versions the events were about — what a client that missed notifications asks for. Delivered events
 * are kept for the retention period (SUBSCRIPTION_RETENTION_DAYS). Resources the caller may not read are
 * left out.
 */
export const eventsOperation: Operation = {
  name: 'events',
  definition: `${BACKPORT}/backport-subscription-events`,
  levels: ['instance'],
  resourceTypes: ['Subscription'],
  methods: ['GET', 'POST'],
  async handler(svc, req, target) {
    const { sub, eventsSinceStart, topic } = await subscriptionOf(svc, target.id as string);
    const { since, until, content } = rangeOf(req, sub, eventsSinceStart);
    const events = (await eventsAfter(svc.store.storage, sub.id as string, since - 1, MAX_EVENTS_PER_QUERY)).filter(
      (e) => e.number <= until,
    );
    const status = subscriptionStatus(
      svc.baseUrl,
      sub,
      eventsSinceStart,
      'query-event',
      events.map((event) => ({ event, content })),
      topic,
    );
    const statusEntry: BundleEntry = {
      fullUrl: `urn:uuid:${newId()}`,
      resource: status,
      request: { method: 'GET', url: `Subscription/${sub.id}/$events` },
      response: { status: '200' },
    };
    const focus = content === 'full-resource' ? await focusEntries(svc, events) : [];
    const bundle: Bundle = { resourceType: 'Bundle', type: 'history', entry: [statusEntry, ...focus] };
    return { status: 200, resource: bundle };
  },
};

/** The operation's range and content, checked (400 naming the parameter). */
function rangeOf(req: FhirRequest, sub: Subscription, latest: number) {
  const input = operationInput(req);
  const number = (name: string, fallback: number) => {
    const v = input.get(name)?.[0];
    if (v === undefined) return fallback;
    if (typeof v !== 'string' || !/^\d{1,15}$/.test(v))
      throw new FhirError('invalid', { message: `${name} must be an event number`, expression: name });
    return Number(v);
  };
  const until = number('eventsUntilNumber', latest);
  const since = Math.max(1, number('eventsSinceNumber', Math.max(1, until - MAX_EVENTS_PER_QUERY + 1)));
  const fallback = topicOf(sub) ? contentOf(sub) : sub.channel.payload ? 'full-resource' : 'empty';
  const content = (input.get('content')?.[0] ?? fallback) as Content;
  if (!['empty', 'id-only', 'full-resource'].includes(content))
    throw new FhirError('invalid', {
      message: `content must be empty, id-only or full-resource`,
      expression: 'content',
    });
  return { since, until, content };
}

/** The versions the events were about, as history entries, those the caller may read. */
async function focusEntries(svc: Services, events: OutboxEvent[]): Promise<BundleEntry[]> {
  const rows: VersionRow[] = [];
  for (const e of events) {
    const row = await svc.store.version(e.type, e.id, e.version);
    if (row?.content) rows.push(row);
  }
  return (await svc.access.visibleIncludes(svc, rows)).map((row) => ({
    fullUrl: `${svc.baseUrl}/${row.type}/${row.id}`,
    resource: JSON.parse(row.content as string) as Resource,
    request: {
      method: row.version === 1 ? 'POST' : 'PUT',
      url: row.version === 1 ? row.type : `${row.type}/${row.id}`,
    },
    response: { status: row.version === 1 ? '201' : '200', etag: `W/"${row.version}"` },
  }));
}
