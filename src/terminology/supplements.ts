import type { CodeSystem, CodeSystemConcept, CodeSystemConceptDesignation } from '@medplum/fhirtypes';
import { CodeSystemIndex } from './codesystem.js';
import { splitCanonical, versionMatches } from './versions.js';

/**
 * CodeSystem supplements (R4 §4.8.3, `content = supplement`): designations, properties and extensions
 * that another code system's concepts gain when a value set (the `valueset-supplement` extension) or
 * the request (`useSupplement`) asks for the supplement. A supplement defines no codes of its own.
 */

/** `url|version` of a resource, as expansions and lookups name what they used. */
export const canonicalOf = (r: { url?: string; version?: string }) =>
  r.version ? `${r.url ?? ''}|${r.version}` : (r.url ?? '');

/** Whether a supplement applies to this version of a code system (`supplements` may name a version). */
export function supplementsSystem(supplement: CodeSystem, base: CodeSystem): boolean {
  const [url, version] = splitCanonical(supplement.supplements ?? '');
  return url === base.url && (version === undefined || versionMatches(version, base.version));
}

function copyConcepts(list: CodeSystemConcept[] | undefined, byCode: Map<string, CodeSystemConcept>) {
  return (list ?? []).map((c): CodeSystemConcept => {
    const copy: CodeSystemConcept = {
      ...c,
      designation: [...(c.designation ?? [])],
      property: [...(c.property ?? [])],
      extension: [...(c.extension ?? [])],
      concept: copyConcepts(c.concept, byCode),
    };
    if (c.code) byCode.set(c.code, copy);
    return copy;
  });
}

function* allConcepts(list: CodeSystemConcept[] | undefined): Generator<CodeSystemConcept> {
  for (const c of list ?? []) {
    yield c;
    yield* allConcepts(c.concept);
  }
}

/**
 * The code system with its supplements applied, indexed. Each designation a supplement adds is
 * noted with the supplement's `url|version` (`$lookup` names it as the designation's source).
 */
export function applySupplements(base: CodeSystem, supplements: CodeSystem[]): CodeSystemIndex {
  const byCode = new Map<string, CodeSystemConcept>();
  const resource: CodeSystem = {
    ...base,
    property: [...(base.property ?? [])],
    concept: copyConcepts(base.concept, byCode),
  };
  const sources = new Map<CodeSystemConceptDesignation, string>();
  for (const supplement of supplements) {
    for (const p of supplement.property ?? [])
      if (!resource.property?.some((q) => q.code === p.code)) resource.property?.push(p);
    for (const c of allConcepts(supplement.concept)) {
      const target = c.code !== undefined ? byCode.get(c.code) : undefined;
      if (!target) continue; // a supplement cannot add codes
      for (const d of c.designation ?? []) {
        target.designation?.push(d);
        sources.set(d, canonicalOf(supplement));
      }
      target.property?.push(...(c.property ?? []));
      target.extension?.push(...(c.extension ?? []));
    }
  }
  const index = new CodeSystemIndex(resource);
  for (const [d, source] of sources) index.designationSources.set(d, source);
  return index;
}
