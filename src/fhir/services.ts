import type { Clock } from './clock.js';
import type { Definitions } from './definitions.js';
import type { ResourceStore } from './store.js';
import type { ResourceValidator } from '../validation/types.js';

/** Limits that protect the server from oversized input; all configurable. */
export interface Limits {
  maxBodyBytes: number;
  maxBundleEntries: number;
  maxJsonDepth: number;
  defaultCount: number;
  maxCount: number;
}

/** Everything a handler may use, passed in once through buildApp: no hidden globals. */
export interface Services {
  store: ResourceStore;
  defs: Definitions;
  validator: ResourceValidator;
  clock: Clock;
  /** The public base URL, e.g. http://localhost:8080/fhir (no trailing slash). */
  baseUrl: string;
  limits: Limits;
  /** Refuse resources with validation errors (422) or store them with warnings. */
  validationMode: 'strict' | 'lenient';
}

export const DEFAULT_LIMITS: Limits = {
  maxBodyBytes: 20 * 1024 * 1024,
  maxBundleEntries: 10_000,
  maxJsonDepth: 64,
  defaultCount: 20,
  maxCount: 1000,
};
