import type { Resource, Subscription } from '@medplum/fhirtypes';
import { matchingIds } from '../fhir/search/batch-reads.js';
import type { Services } from '../fhir/services.js';
import type { CommitHook, VersionRow } from '../fhir/store.js';
import type { Tx } from '../storage/types.js';
import { appendEvent, deleteState, listeningTo, upsertState } from '../storage/subscription-tables.js';
import { splitCriteria } from './criteria.js';
import { deletionMatches, type Deleted } from './deletions.js';
import { heartbeatMsOf, topicCriteria, topicOf, TOPICS, type Topic } from './topics.js';

/** The statuses whose subscriptions get events: `requested` ones too, so none is lost before the handshake. */
const LISTENING = ['requested', 'active'];

/**
 * The transactional outbox, as the store's commit hook: in the transaction of every write, before it
 * commits, a written Subscription is mirrored into `subscription_state`, and each written resource that
 * matches a listening subscription's criteria gets an event row numbered by that subscription's
 * `events_since_start`. The counter is raised by an UPDATE, which holds the subscription's row until the
 * commit: writers of events for one subscription take their numbers in commit order, and a rolled-back
 * write gives its number back — the numbers have no gaps, and an event exists if and only if its write
 * committed. `services` is read when a transaction commits (the hook is made before the services are).
 */
export function outboxHook(services: () => Services): CommitHook {
  return async (tx, written) => {
    const svc = services();
    for (const row of written) if (row.type === 'Subscription') await mirror(tx, row);
    const matches: Match[] = [];
    const { byType, deletions } = lastVersionsByType(written);
    for (const [type, rows] of byType) matches.push(...(await matchesOf(svc, tx, type, rows)));
    for (const [type, rows] of deletions) matches.push(...(await deletionMatches(svc, tx, type, rows)));
    // counters are locked in subscription id order, whatever the types written: two transactions that
    // both record events for the same two subscriptions take their locks in the same order (no deadlock);
    // each subscription's events stay in the order written
    matches.sort((a, b) =>
      a.subscription < b.subscription ? -1 : a.subscription > b.subscription ? 1 : a.order - b.order,
    );
    for (const m of matches) await recordEvent(svc, tx, m.subscription, m.row);
    // the worker looks a moment later: by then this transaction has (most likely) committed
    if (matches.length) setTimeout(() => svc.subscriptionSignal.notify(), 5).unref();
  };
}

/** Keeps `subscription_state` in step with the Subscription written (its counters survive updates). */
async function mirror(tx: Tx, row: VersionRow): Promise<void> {
  if (row.deleted) return deleteState(tx, row.id);
  const sub = JSON.parse(row.content as string) as Subscription;
  // a topic-based subscription is matched by its topic's search with the subscriber's filters
  const topic = topicOf(sub);
  const criteria = topic ? topicCriteria(topic, sub) : (sub.criteria ?? '');
  await upsertState(tx, {
    id: row.id,
    status: sub.status,
    criteriaType: splitCriteria(criteria).type,
    criteria,
    ends: endOf(sub),
    topic: topic?.code ?? null,
    heartbeatMs: heartbeatOf(sub),
    channel: sub.channel?.type ?? 'rest-hook',
  });
}

/** The heartbeat period in ms, or null (none, or not valid: refused when a client writes it). */
function heartbeatOf(sub: Subscription): number | null {
  const ms = heartbeatMsOf(sub);
  return ms !== undefined && Number.isFinite(ms) ? ms : null;
}

/** `Subscription.end` as epoch ms, or null (none, or not a time: the validator refuses that in strict mode). */
function endOf(sub: Subscription): number | null {
  const ms = sub.end ? Date.parse(sub.end) : NaN;
  return Number.isFinite(ms) ? ms : null;
}

/**
 * The last version written of each resource, by type, in the order written: the index rows the criteria
 * are matched against are those of the last version, so a resource written twice in one transaction (a
 * reaction changing what the client wrote) gives one event, with the version that commits. Deletions of
 * resources that existed before the transaction are apart (src/subscriptions/deletions.ts); one created
 * and deleted in the same transaction gives nothing.
 */
function lastVersionsByType(written: VersionRow[]) {
  const last = new Map<string, Written>();
  for (const row of written) {
    const key = `${row.type}/${row.id}`;
    const previous = last.get(key)?.previous ?? row.version - 1;
    last.delete(key); // re-inserted: the map's order is that of each resource's last write
    last.set(key, { row, previous, order: 0 });
  }
  const byType = new Map<string, Written[]>();
  const deletions = new Map<string, Written[]>();
  let order = 0;
  for (const w of last.values()) {
    w.order = order++;
    if (w.row.deleted && w.previous < 1) continue;
    const into = w.row.deleted ? deletions : byType;
    const list = into.get(w.row.type);
    if (list) list.push(w);
    else into.set(w.row.type, [w]);
  }
  return { byType, deletions };
}

/** A resource's last version written in the transaction, the version it had before (0: none), its place. */
type Written = Deleted;

/** How many ids one matching query names (`_id` values are OR-ed; the search allows 1,000). */
const IDS_PER_QUERY = 500;

/** A written version that matches a subscription's criteria, and its place among the writes. */
interface Match {
  subscription: string;
  row: VersionRow;
  order: number;
}

/**
 * The listening subscriptions' matches among the written resources of `type`, in the order written: one
 * query per subscription (the criteria plus `_id` of the written resources, on the index rows this
 * transaction wrote — the search machinery decides), however many resources the transaction wrote.
 */
async function matchesOf(svc: Services, tx: Tx, type: string, rows: Written[]): Promise<Match[]> {
  const subs = await listeningTo(tx, type, LISTENING);
  const matches: Match[] = [];
  for (const sub of subs) {
    const { query } = splitCriteria(sub.criteria);
    const matched = new Set<string>();
    for (let i = 0; i < rows.length; i += IDS_PER_QUERY) {
      const ids = rows.slice(i, i + IDS_PER_QUERY).map((w) => w.row.id);
      for (const id of await matchingIds(svc, type, [...query, ['_id', ids.join(',')]], tx)) matched.add(id);
    }
    const topic = TOPICS.find((t) => t.code === sub.topic);
    for (const w of rows) {
      if (!matched.has(w.row.id)) continue;
      // a topic is a transition: the resource was not in the topic's state before this transaction
      if (topic && (await heldBefore(svc, tx, topic, w))) continue;
      matches.push({ subscription: sub.id, row: w.row, order: w.order });
    }
  }
  return matches;
}

/** Whether the version before the transaction was in the topic's state already. */
async function heldBefore(svc: Services, tx: Tx, topic: Topic, w: Written): Promise<boolean> {
  if (w.previous < 1) return false;
  const before = await svc.store.version(w.row.type, w.row.id, w.previous, tx);
  return Boolean(before?.content && topic.holds(JSON.parse(before.content) as Resource));
}

/** One event, numbered by the subscription's counter (its row locked until the commit). */
async function recordEvent(svc: Services, tx: Tx, subscription: string, row: VersionRow): Promise<void> {
  const event = { type: row.type, id: row.id, version: row.version, created: svc.clock.now().getTime() };
  await appendEvent(tx, subscription, event);
}
