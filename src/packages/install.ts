import type { SearchParameter } from '@medplum/fhirtypes';
import { definitionsForApp, registerSearchParameter } from '../fhir/definitions.js';
import { FhirError } from '../fhir/errors.js';
import type { Need } from '../fhir/ports.js';
import { reindex } from '../fhir/search/reindex.js';
import type { Services } from '../fhir/services.js';
import { installedPackages, recordPackage } from '../storage/package-tables.js';
import type { Tx } from '../storage/types.js';
import type { PackageContents } from './contents.js';
import { checkDependencies } from './dependencies.js';
import { inFile, storeResource, type InstallMode, type StoredResource } from './store.js';

export type { InstallMode };

/** What an installation did: counts, the resources by reference, the parameters activated and reindexed. */
export interface InstallReport {
  name: string;
  version: string;
  mode: InstallMode;
  index: 'used' | 'built';
  created: number;
  updated: number;
  unchanged: number;
  /** `Type/id` of every resource of the package as stored. */
  resources: string[];
  /** The canonical urls of the SearchParameters this installation made searchable. */
  activated: string[];
  /** The resource types reindexed for them, and how many resources that was. */
  reindexedTypes: string[];
  reindexed: number;
}

/** The lock every installation takes: one at a time per database, across server processes. */
const INSTALL_LOCK = 'fhir-packages:install';

/**
 * Installs a package read by packageContents: its dependencies checked against what is installed (one
 * OperationOutcome naming every missing one), then every resource stored idempotently and the package
 * recorded, in one transaction — all of it or, on any refusal, nothing. In `install` mode the new or
 * changed active SearchParameters are then searchable, and the resources of their base types are
 * reindexed (after the commit, in small transactions, while the server serves).
 */
export async function installPackage(svc: Services, pkg: PackageContents, mode: InstallMode): Promise<InstallReport> {
  checkTypes(svc, pkg);
  svc.access.authorize(svc, needsOf(svc, pkg, mode));
  if (mode === 'install') checkSearchParameters(svc, pkg);
  const { stored, effective } = await svc.store.transaction((tx) => storeAll(svc, tx, pkg, mode));
  const activated = stored.filter(
    (s) =>
      s.outcome !== 'unchanged' &&
      s.resource.resourceType === 'SearchParameter' &&
      (s.resource as SearchParameter).status === 'active',
  );
  const types = [...new Set(activated.flatMap((s) => baseTypes(svc, s.resource as SearchParameter)))].sort();
  const { resources: reindexed } = types.length ? await reindex(svc, { types }) : { resources: 0 };
  const count = (o: StoredResource['outcome']) => stored.filter((s) => s.outcome === o).length;
  return {
    name: pkg.manifest.name,
    version: pkg.manifest.version,
    mode: effective,
    index: pkg.index,
    created: count('created'),
    updated: count('updated'),
    unchanged: count('unchanged'),
    resources: stored.map((s) => s.reference),
    activated: activated.map((s) => (s.resource as SearchParameter).url as string),
    reindexedTypes: types,
    reindexed,
  };
}

/** The transaction: the lock, the dependency check, every resource, the record of the package. */
async function storeAll(svc: Services, tx: Tx, pkg: PackageContents, mode: InstallMode) {
  await tx.lock(INSTALL_LOCK);
  const installed = await installedPackages(tx);
  checkDependencies(pkg.manifest, installed);
  const { name, version } = pkg.manifest;
  const previous = installed.find((p) => p.name === name && p.version === version);
  // a store-only installation of what is installed already leaves its SearchParameters active
  const effective: InstallMode = previous?.mode === 'install' ? 'install' : mode;
  const stored: StoredResource[] = [];
  // SearchParameters last: one is searchable in this process as soon as it is written, even if a later
  // resource is refused and the transaction rolls back, so everything else is written (and checked) first
  const last = (r: { resource: { resourceType: string } }) => (r.resource.resourceType === 'SearchParameter' ? 1 : 0);
  for (const file of [...pkg.resources].sort((x, y) => last(x) - last(y))) {
    const s = await storeResource(svc, tx, file, effective);
    if (s) stored.push(s);
  }
  await recordPackage(tx, {
    name,
    version,
    mode: effective,
    installed: svc.clock.now().getTime(),
    manifest: JSON.stringify(pkg.manifest.raw),
    resources: JSON.stringify(stored.map((s) => s.reference)),
  });
  return { stored, effective };
}

/** Every resource must be of an R4 type this server knows (422 naming the file otherwise). */
function checkTypes(svc: Services, pkg: PackageContents): void {
  const unknown = pkg.resources.filter((r) => !svc.defs.resourceTypes.has(r.resource.resourceType));
  if (unknown.length)
    throw new FhirError(
      'unprocessable',
      unknown.map((r) => ({
        message: `${r.filename}: '${r.resource.resourceType}' is not an R4 resource type`,
        expression: r.filename,
      })),
    );
}

/**
 * What the caller's token must grant (with authentication on): create and update of every type the package
 * stores, for all patients; and in `install` mode update of the types reindexed for its SearchParameters
 * (what `$reindex` asks).
 */
function needsOf(svc: Services, pkg: PackageContents, mode: InstallMode): Need[] {
  const types = new Set(pkg.resources.map((r) => r.resource.resourceType));
  const needs: Need[] = [...types].sort().flatMap((type) => [
    { type, action: 'c' as const, whole: true },
    { type, action: 'u' as const, whole: true },
  ]);
  if (mode === 'install')
    for (const r of pkg.resources)
      if (r.resource.resourceType === 'SearchParameter')
        for (const type of baseTypes(svc, r.resource as SearchParameter))
          needs.push({ type, action: 'u', whole: true });
  return needs;
}

/**
 * Refuses, before anything is written, a SearchParameter this server could not make searchable (no
 * expression, an unknown base, an index id that clashes): tried on a copy of the definitions, since a
 * parameter registered as it is written stays registered in this process even if the transaction fails.
 */
function checkSearchParameters(svc: Services, pkg: PackageContents): void {
  const trial = definitionsForApp(svc.defs);
  for (const { filename, resource } of pkg.resources) {
    if (resource.resourceType !== 'SearchParameter' || (resource as SearchParameter).status !== 'active') continue;
    try {
      registerSearchParameter(trial, resource as SearchParameter);
    } catch (err) {
      throw err instanceof FhirError ? inFile(err, filename) : err;
    }
  }
}

/** The resource types a SearchParameter applies to (`Resource` and `DomainResource`: every type). */
function baseTypes(svc: Services, sp: SearchParameter): string[] {
  return ((sp.base ?? []) as string[]).flatMap((b) =>
    b === 'Resource' || b === 'DomainResource' ? [...svc.defs.resourceTypes] : [b],
  );
}
