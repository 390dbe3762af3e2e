import type { TerminologyStore } from './source.js';

export interface TerminologyLimits {
  /** The most codes an expansion may hold (larger ones need paging or a filter): 422 too-costly. */
  maxExpansionSize: number;
  /** Whether a wrong display is a warning (true) or makes $validate-code fail (false), unless the request says. */
  lenientDisplay: boolean;
}

export const DEFAULT_TERMINOLOGY_LIMITS: TerminologyLimits = { maxExpansionSize: 10_000, lenientDisplay: true };

// What terminology keeps in the services (the core does not know it: src/fhir/services.ts)
declare module '../fhir/services.js' {
  interface Services {
    /** CodeSystems, ValueSets and ConceptMaps for the terminology operations, cached per generation. */
    terminology: TerminologyStore;
    terminologyLimits: TerminologyLimits;
  }
}
