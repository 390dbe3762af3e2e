import type { WakeSignal } from '../fhir/wake-signal.js';
/** What the Bulk Data export keeps in the services (the core does not know it: src/fhir/services.ts). */
export interface BulkSettings {
  /** The most bytes in one NDJSON file (BULK_FILE_MAX_BYTES); a larger single resource is a file alone. */
  fileMaxBytes: number;
  /** How long a job and its files are kept after it completes, by the server's clock (BULK_EXPIRES_HOURS). */
  expiresMs: number;
  /** How many resources are read from the database at a time. */
  batch: number;
  /** URL prefixes `$import` may fetch NDJSON from (BULK_IMPORT_SOURCES); none: import refuses every URL. */
  importSources: string[];
  /** The most bytes of one imported file (BULK_IMPORT_MAX_BYTES). */
  importMaxBytes: number;
}

export const DEFAULT_BULK_SETTINGS: BulkSettings = {
  fileMaxBytes: 64 * 1024 * 1024,
  expiresMs: 24 * 3600_000,
  batch: 1000,
  importSources: [],
  importMaxBytes: 256 * 1024 * 1024,
};

declare module '../fhir/services.js' {
  interface Services {
    bulk: BulkSettings;
    bulkSignal: WakeSignal;
  }
}
