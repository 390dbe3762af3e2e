import type { Resource } from '@medplum/fhirtypes';
import { placeholders, type SqlValue } from '../../storage/types.js';
import type { Services } from '../services.js';

export interface ReindexOptions {
  /** Only these resource types (all when absent). */
  types?: string[];
  batchSize?: number;
  onProgress?: (done: number, total: number) => void;
}

/**
 * Rebuilds the search index rows of stored resources from the current search parameters, e.g. after
 * a SearchParameter was added or changed. Works in small batches, each its own transaction that takes
 * the same per-resource locks as writers and re-reads the current version, so the server keeps
 * serving and a concurrent update is never indexed from stale content.
 */
export async function reindex(svc: Services, options: ReindexOptions = {}): Promise<{ resources: number }> {
  const batchSize = options.batchSize ?? 500;
  const typeFilter = options.types?.length ? ` AND type IN (${placeholders(options.types)})` : '';
  const typeParams: SqlValue[] = options.types ?? [];
  const storage = svc.store.storage;
  const total = Number(
    (await storage.get<{ n: number }>(`SELECT COUNT(*) AS n FROM resources WHERE deleted = 0${typeFilter}`, typeParams))
      ?.n ?? 0,
  );
  let done = 0;
  let after = 0;
  options.onProgress?.(0, total);
  for (;;) {
    const batch = await storage.all<{ rid: number; type: string; id: string }>(
      `SELECT rid, type, id FROM resources WHERE deleted = 0 AND rid > ?${typeFilter} ORDER BY rid LIMIT ?`,
      [after, ...typeParams, batchSize],
    );
    if (!batch.length) break;
    await svc.store.transaction(async (tx) => {
      for (const { rid, type, id } of batch) {
        await svc.store.lockResource(tx, type, id);
        const current = await tx.get<{ content: string | null; deleted: number }>(
          'SELECT content, deleted FROM resources WHERE rid = ?',
          [rid],
        );
        if (current && !current.deleted && current.content)
          await svc.store.reindexRow(tx, rid, JSON.parse(current.content) as Resource);
      }
    });
    after = batch[batch.length - 1].rid;
    done += batch.length;
    options.onProgress?.(Math.min(done, total), total);
  }
  return { resources: done };
}
