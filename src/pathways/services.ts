import type { PlanCache } from './plan-cache.js';

// What the pathways keep in the services (the core does not know it: src/fhir/services.ts)
declare module '../fhir/services.js' {
  interface Services {
    /** The stored PlanDefinitions, parsed once per generation. */
    plans: PlanCache;
    /** The unit (Organization/id) a pathway applied without `organization` is reported by; none: refused. */
    pathwayDefaultUnit?: string;
  }
}

export {};
