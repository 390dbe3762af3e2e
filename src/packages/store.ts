import type { Resource, SearchParameter } from '@medplum/fhirtypes';
import { storeOneCanonical, type Canonical, type LoadReport } from '../fhir/canonical-loader.js';
import { FhirError } from '../fhir/errors.js';
import { create, update } from '../fhir/interactions/write.js';
import { searchAll } from '../fhir/search/find-all.js';
import type { Services } from '../fhir/services.js';
import type { Tx } from '../storage/types.js';
import type { PackageResource } from './index-file.js';

/** How a package is installed (docs/packages.md). */
export type InstallMode = 'store-only' | 'install';

/** What happened to one resource of a package, and where it is stored. */
export interface StoredResource {
  outcome: keyof LoadReport;
  reference: string;
  resource: Resource;
}

/**
 * The resource as it is stored in a mode. `install`: as it is. `store-only`: as it is, except that an
 * active SearchParameter is stored as `draft` — on this server an active one is searchable (and indexed)
 * as soon as it is written, on every node — unless its url|version is stored already, which is then left
 * as it is (a store-only installation never turns off what an installation turned on): undefined.
 */
async function asStored(svc: Services, r: Resource, mode: InstallMode): Promise<Resource | undefined> {
  if (mode === 'install' || r.resourceType !== 'SearchParameter' || (r as SearchParameter).status !== 'active')
    return r;
  const sp = r as SearchParameter;
  const stored = sp.url ? await searchAll(svc, 'SearchParameter', [['url', sp.url]]) : [];
  if (stored.some((c) => (JSON.parse(c) as SearchParameter).version === sp.version)) return undefined;
  return { ...sp, status: 'draft' } as SearchParameter;
}

/**
 * Stores one resource of a package in the caller's transaction, idempotently: a canonical resource by its
 * url and version (storeOneCanonical: the same content stores no new version), any other by its id (an
 * update that says what is stored stores none), or created when it has no id. A refusal names the file.
 */
export async function storeResource(
  svc: Services,
  tx: Tx,
  { filename, resource }: PackageResource,
  mode: InstallMode,
): Promise<StoredResource | undefined> {
  const r = await asStored(svc, resource, mode);
  if (!r) return undefined;
  try {
    if (typeof (r as Canonical).url === 'string') {
      const { outcome, id } = await storeOneCanonical(svc, tx, r as Canonical);
      return { outcome, reference: `${r.resourceType}/${id}`, resource: r };
    }
    if (!r.id) {
      const { row } = await create(svc, tx, r.resourceType, r);
      return { outcome: 'created', reference: `${r.resourceType}/${row!.id}`, resource: r };
    }
    const written = await update(svc, tx, r.resourceType, r.id, r);
    const outcome = written.unchanged ? 'unchanged' : written.status === 201 ? 'created' : 'updated';
    return { outcome, reference: `${r.resourceType}/${r.id}`, resource: r };
  } catch (err) {
    throw err instanceof FhirError ? inFile(err, filename) : err;
  }
}

/** The same refusal, each issue saying which file of the package it is about. */
export function inFile(err: FhirError, filename: string): FhirError {
  return FhirError.withIssues(
    err.category,
    err.issues.map((i) => ({ ...i, diagnostics: `${filename}: ${i.diagnostics ?? err.message}` })),
  );
}
