import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Resource } from '@medplum/fhirtypes';
import { FhirError } from './errors.js';
import { create, update } from './interactions/write.js';
import { searchAll } from './search/find-all.js';
import type { Services } from './services.js';

export interface LoadReport {
  created: number;
  updated: number;
  unchanged: number;
}

export type Canonical = Resource & { url?: string; version?: string };

/** A resource's content without what the store sets, to tell a real change from a re-load. */
function comparable(r: Canonical): string {
  const { meta: _meta, id: _id, ...rest } = r as Canonical & { meta?: unknown };
  return JSON.stringify(rest);
}

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
 * Loads shipped canonical resources (the `*.json` files of a folder that are of the given types) into
 * the store at start-up, idempotently (see storeCanonical).
 */
export function loadCanonical(
  svc: Services,
  dir: string,
  types: readonly string[],
  options: { strict?: boolean } = {},
): Promise<LoadReport> {
  return storeCanonical(svc, readCanonical(dir, types, options), types, dir);
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
      const row = await svc.store.current(r.resourceType, r.id as string, tx);
      const sameId = row && !row.deleted && row.content ? (JSON.parse(row.content) as Canonical) : undefined;
      const stored =
        sameId && sameId.url === r.url && sameId.version === r.version ? sameId : await findByCanonical(svc, r);
      if (stored) {
        if (comparable(stored) === comparable(r)) report.unchanged++;
        else {
          await update(svc, tx, r.resourceType, stored.id as string, { ...r, id: stored.id });
          report.updated++;
        }
        continue;
      }
      // the file's id when it is free, else one the server assigns (another version holds the id)
      if (sameId) await create(svc, tx, r.resourceType, { ...r, id: undefined });
      else
        await update(svc, tx, r.resourceType, r.id as string, r).catch((err: unknown) => {
          throw err instanceof FhirError ? new Error(`${source}: ${r.resourceType}/${r.id}: ${err.message}`) : err;
        });
      report.created++;
    }
  });
  return report;
}

async function findByCanonical(svc: Services, r: Canonical): Promise<Canonical | undefined> {
  const found = await searchAll(svc, r.resourceType, [['url', r.url as string]]);
  return found.map((c) => JSON.parse(c) as Canonical).find((c) => c.version === r.version);
}
