import type { Resource } from '@medplum/fhirtypes';
import type { Principal } from '../security/principal.js';
import type { AuditLog } from '../security/audit.js';
import type { Tx } from '../storage/types.js';
import type { Clock } from './clock.js';
import type { Definitions } from './definitions.js';
import type { ResourceStore } from './store.js';
import type { ResourceValidator } from '../validation/types.js';
import type { TerminologyStore } from '../terminology/source.js';

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
  /** CodeSystems, ValueSets and ConceptMaps for the terminology operations, cached per generation. */
  terminology: TerminologyStore;
  terminologyLimits: TerminologyLimits;
  /** Refuse resources with validation errors (422) or store them with warnings. */
  validationMode: 'strict' | 'lenient';
  /** What follows a write, in the same transaction (a completed pathway milestone sets the next due dates). */
  reactions: WriteReaction[];
  /** Who is asking, in the services of one request (none: authentication is off, or the server's own work). */
  principal?: Principal;
  /** Where registry reports are written as files (none: stored only). */
  registryOutbox?: string;
  /** The most codes on one stored page of a registry report (default 5,000). */
  registryPageSize?: number;
  /** The audit trail's buffer for reads and searches (when auditing is on); flushed at shutdown. */
  auditLog?: AuditLog;
}

/** Runs after a version of a resource of `type` is written, inside the writer's transaction: all of it commits, or none. */
export interface WriteReaction {
  type: string;
  run(svc: Services, tx: Tx, resource: Resource): Promise<void>;
}

export interface TerminologyLimits {
  /** The most codes an expansion may hold (larger ones need paging or a filter): 422 too-costly. */
  maxExpansionSize: number;
  /** Whether a wrong display is a warning (true) or makes $validate-code fail (false), unless the request says. */
  lenientDisplay: boolean;
}

export const DEFAULT_TERMINOLOGY_LIMITS: TerminologyLimits = { maxExpansionSize: 10_000, lenientDisplay: true };

export const DEFAULT_LIMITS: Limits = {
  maxBodyBytes: 20 * 1024 * 1024,
  maxBundleEntries: 10_000,
  maxJsonDepth: 64,
  defaultCount: 20,
  maxCount: 1000,
};
