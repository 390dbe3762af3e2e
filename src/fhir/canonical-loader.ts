import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Resource } from '@medplum/fhirtypes';
import type { Tx } from '../storage/types.js';
import { FhirError } from './errors.js';
import { create, update } from './interactions/write.js';
import { sameContent } from './same-content.js';
import { searchAll } from './search/find-all.js';
import type { Services } from './services.js';

export interface LoadReport {
  created: number;
  updated: number;
  unchanged: number;
}

export type Canonical = Resource & { url?: string; version?: string };

/** The `*.json` files of a folder that are canonical resources of the given types (strict: only those). */
export function readCanonical(dir: string, types: readonly string[], options: { strict?: boolean } = {}): Canonical[] {
  const resources: Canonical[] = [];
  for (const f of readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()) {
    const r = JSON.parse(readFileSync(join(dir, f), 'utf8')) as Canonical;
    if (types.includes(r.resourceType) && r.url) resources.push(r);
    else if (options.strict) throw new Error(`${f}: not a ${types.join(', ')} with a url`);
  }
  return resources;
}

/**
 * Stores canonical resources of the given types idempotently: a resource is identified by its
 * canonical url and version, so a restart changes nothing, a changed file updates the stored resource
 * of that url|version, and a new version is stored beside the old. One transaction under one lock, so
 * several server processes starting together load it once. Each is validated like any write; `source`
 * names where they came from in an error.
 */
export async function storeCanonical(
  svc: Services,
  resources: readonly Canonical[],
  types: readonly string[],
  source: string,
): Promise<LoadReport> {
  const report: LoadReport = { created: 0, updated: 0, unchanged: 0 };
  await svc.store.transaction(async (tx) => {
    // by the types loaded, not the folder's path: installations in different folders share a database
    await tx.lock(`canonical:load:${[...types].sort().join(',')}`);
    for (const r of resources) {
      const { outcome } = await storeOneCanonical(svc, tx, r).catch((err: unknown) => {
        throw err instanceof FhirError ? new Error(`${source}: ${r.resourceType}/${r.id}: ${err.message}`) : err;
      });
      report[outcome]++;
    }
  });
  return report;
}

/**
 * Stores one canonical resource in the caller's transaction, identified by its url and version (see
 * storeCanonical): unchanged when the stored one says the same (no new version), updated when it
 * differs, else created — with its own id when that is free, else one the server assigns (another
 * version of it holds the id). Returns what happened and the id it is stored under.
 */
export async function storeOneCanonical(
  svc: Services,
  tx: Tx,
  r: Canonical,
): Promise<{ outcome: keyof LoadReport; id: string }> {
  const row = r.id ? await svc.store.current(r.resourceType, r.id, tx) : undefined;
  const sameId = row && !row.deleted && row.content ? (JSON.parse(row.content) as Canonical) : undefined;
  const stored =
    sameId && sameId.url === r.url && sameId.version === r.version ? sameId : await findByCanonical(svc, r);
  if (stored) {
    const id = stored.id as string;
    if (sameContent(stored, { ...r, id })) return { outcome: 'unchanged', id };
    const { unchanged } = await update(svc, tx, r.resourceType, id, { ...r, id });
    return { outcome: unchanged ? 'unchanged' : 'updated', id };
  }
  if (sameId || !r.id) {
    const { row: created } = await create(svc, tx, r.resourceType, { ...r, id: undefined });
    return { outcome: 'created', id: created!.id };
  }
  await update(svc, tx, r.resourceType, r.id, r);
  return { outcome: 'created', id: r.id };
}

async function findByCanonical(svc: Services, r: Canonical): Promise<Canonical | undefined> {
  const found = await searchAll(svc, r.resourceType, [['url', r.url as string]]);
  return found.map((c) => JSON.parse(c) as Canonical).find((c) => c.version === r.version);
}
