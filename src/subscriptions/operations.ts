import type { Bundle, BundleEntry, Resource, Subscription } from '@medplum/fhirtypes';
import { FhirError } from '../fhir/errors.js';
import { newId } from '../fhir/ids.js';
import { operationInput } from '../fhir/operations/parameters.js';
import type { Operation } from '../fhir/operations/types.js';
import type { FhirRequest } from '../fhir/request.js';
import type { Services } from '../fhir/services.js';
import type { VersionRow } from '../fhir/store.js';
import { eventsAfter, readState, type OutboxEvent } from './state.js';
import { subscriptionStatus, type Content } from './status-parameters.js';

/** The most events one `$events` answer holds (ask again from the next number for more). */
export const MAX_EVENTS_PER_QUERY = 100;

const BACKPORT = 'http://hl7.org/fhir/uv/subscriptions-backport/OperationDefinition';

/** The Subscription and its outbox counter, or 404. */
async function subscriptionOf(svc: Services, id: string): Promise<{ sub: Subscription; eventsSinceStart: number }> {
  const row = await svc.store.current('Subscription', id);
  if (!row?.content || row.deleted) throw new FhirError('not-found', `Subscription/${id} is not known`);
  const state = await readState(svc.store.storage, id);
  return { sub: JSON.parse(row.content) as Subscription, eventsSinceStart: state?.eventsSinceStart ?? 0 };
}

/**
 * `GET [base]/Subscription/[id]/$status` (R4 Backport IG, backport-subscription-status): a searchset
 * Bundle with the SubscriptionStatus of the subscription — its status, error and the number of events
 * since it started, so a client can tell whether it missed any.
 */
export const statusOperation: Operation = {
  name: 'status',
  definition: `${BACKPORT}/backport-subscription-status`,
  levels: ['instance'],
  resourceTypes: ['Subscription'],
  methods: ['GET', 'POST'],
  async handler(svc, _req, target) {
    const { sub, eventsSinceStart } = await subscriptionOf(svc, target.id as string);
    const status = subscriptionStatus(svc.baseUrl, sub, eventsSinceStart, 'query-status');
    const bundle: Bundle = {
      resourceType: 'Bundle',
      type: 'searchset',
      total: 1,
      entry: [{ fullUrl: `urn:uuid:${newId()}`, resource: status, search: { mode: 'match' } }],
    };
    return { status: 200, resource: bundle };
  },
};

/**
 * `GET [base]/Subscription/[id]/$events` (R4 Backport IG, backport-subscription-events): the events of a
 * range of numbers (`eventsSinceNumber`, `eventsUntilNumber`, both inclusive; the last 100 by default),
 * as a `history` Bundle with the SubscriptionStatus (`query-event`) first, then with `full-resource` the
 * versions the events were about — what a client that missed notifications asks for. Every event is
 * kept (no retention limit yet). Resources the caller may not read are left out.
 */
export const eventsOperation: Operation = {
  name: 'events',
  definition: `${BACKPORT}/backport-subscription-events`,
  levels: ['instance'],
  resourceTypes: ['Subscription'],
  methods: ['GET', 'POST'],
  async handler(svc, req, target) {
    const { sub, eventsSinceStart } = await subscriptionOf(svc, target.id as string);
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
  const content = (input.get('content')?.[0] ?? (sub.channel.payload ? 'full-resource' : 'empty')) as Content;
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
