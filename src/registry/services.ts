// What the registry keeps in the services (the core does not know it: src/fhir/services.ts)
declare module '../fhir/services.js' {
  interface Services {
    /** Where registry reports are written as files (none: stored only). */
    registryOutbox?: string;
    /** The most codes on one stored page of a registry report (default 5,000). */
    registryPageSize?: number;
  }
}

export {};
