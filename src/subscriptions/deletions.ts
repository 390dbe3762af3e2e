import { matchingIds } from '../fhir/search/batch-reads.js';
import type { Services } from '../fhir/services.js';
import type { VersionRow } from '../fhir/store.js';
import type { Tx } from '../storage/types.js';
import { listeningTo } from '../storage/subscription-tables.js';
import { splitCriteria } from './criteria.js';

/** A resource deleted in the transaction: the deletion, and the version it had before it (≥ 1). */
export interface Deleted {
  row: VersionRow;
  previous: number;
  /** Its place among the transaction's writes (events are numbered in the order written). */
  order: number;
}

/**
 * The R4 core subscriptions told of a deletion: those whose criteria the resource matched just before it
 * (the Backport's `delete` trigger on a search). A deletion keeps no index rows, so the version before is
 * made searchable again for the question, inside the deleting transaction, and deleted again after
 * (ResourceStore.asBeforeDeletion): one query per deleted resource per subscription on its type — as
 * rare as deletions. Topic-based subscriptions are not told: each shipped topic is a transition into a
 * state (a milestone falling overdue …), which a deletion never is. The event's version is the deletion.
 */
export async function deletionMatches(
  svc: Services,
  tx: Tx,
  type: string,
  deleted: Deleted[],
): Promise<{ subscription: string; row: VersionRow; order: number }[]> {
  const subs = (await listeningTo(tx, type, ['requested', 'active'])).filter((s) => !s.topic);
  if (!subs.length) return [];
  const matches: { subscription: string; row: VersionRow; order: number }[] = [];
  for (const d of deleted) {
    const before = await svc.store.version(type, d.row.id, d.previous, tx);
    if (!before?.content || d.row.rid === undefined) continue; // it was deleted already
    await svc.store.asBeforeDeletion(tx, d.row, before, async () => {
      for (const sub of subs) {
        const { query } = splitCriteria(sub.criteria);
        const ids = await matchingIds(svc, type, [...query, ['_id', d.row.id]], tx);
        if (ids.length) matches.push({ subscription: sub.id, row: d.row, order: d.order });
      }
    });
  }
  return matches;
}
