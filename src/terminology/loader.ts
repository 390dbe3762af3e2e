import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FhirError } from '../fhir/errors.js';
import { create, update } from '../fhir/interactions/write.js';
import type { Services } from '../fhir/services.js';
import { TERMINOLOGY_TYPES, type TerminologyResource } from './source.js';

export const VALUESETS_DIR = join(import.meta.dirname, '../../valuesets');

export interface LoadReport {
  created: number;
  updated: number;
  unchanged: number;
}

/** A resource's content without what the store sets, to tell a real change from a re-load. */
function comparable(r: TerminologyResource): string {
  const { meta: _meta, id: _id, ...rest } = r;
  return JSON.stringify(rest);
}

/**
 * Loads the shipped terminology (`valuesets/*.json`) into the store at start-up, idempotently: a
 * resource is identified by its canonical url and version, so a restart changes nothing, a changed
 * file updates the stored resource of that url|version, and a new version is stored beside the old.
 * One transaction under one lock, so several server processes starting together load it once.
 */
export async function loadTerminology(svc: Services, dir = VALUESETS_DIR): Promise<LoadReport> {
  const files = readdirSync(dir).filter((f) => f.endsWith('.json')).sort();
  const resources = files.map((f) => {
    const r = JSON.parse(readFileSync(join(dir, f), 'utf8')) as TerminologyResource;
    if (!TERMINOLOGY_TYPES.includes(r.resourceType) || !r.url) throw new Error(`${f}: not a CodeSystem, ValueSet or ConceptMap with a url`);
    return r;
  });
  const report: LoadReport = { created: 0, updated: 0, unchanged: 0 };
  await svc.store.transaction(async (tx) => {
    await tx.lock('terminology:load');
    for (const r of resources) {
      const row = await svc.store.current(r.resourceType, r.id as string, tx);
      const sameId = row && !row.deleted && row.content ? (JSON.parse(row.content) as TerminologyResource) : undefined;
      const stored = sameId && sameId.url === r.url && sameId.version === r.version ? sameId : await findByCanonical(svc, r);
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
      else await update(svc, tx, r.resourceType, r.id as string, r).catch((err: unknown) => {
        throw err instanceof FhirError ? new Error(`valuesets: ${r.resourceType}/${r.id}: ${err.message}`) : err;
      });
      report.created++;
    }
  });
  return report;
}

async function findByCanonical(svc: Services, r: TerminologyResource): Promise<TerminologyResource | undefined> {
  const found = await svc.terminology.searchAll(r.resourceType, [['url', r.url as string]]);
  return found.map((c) => JSON.parse(c) as TerminologyResource).find((c) => c.version === r.version);
}
