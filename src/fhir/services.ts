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
  /** The unit (Organization/id) a pathway applied without `organization` is reported by; none: refused. */
  pathwayDefaultUnit?: string;
  /** The audit trail's buffer for reads and searches (when auditing is on); flushed at shutdown. */
  auditLog?: AuditLog;
}

/** One write, as a reaction sees it: the resource before and after, and who made it. */
export interface WriteEvent {
  type: string;
  id: string;
  /** The version it replaces (absent: none, or a deleted one). */
  before?: Resource;
  /** The version written (absent: a deletion). */
  after?: Resource;
  /** A client's request, or a change a reaction made (reactions see those too, and usually pass them over). */
  origin: 'request' | 'reaction';
}

/**
 * What follows a write of `type`, inside the writer's transaction (all of it commits, or none). `prepare`
 * sets the fields the server owns on the resource about to be stored, before it is compared with the
 * stored one (so a client re-sending a stale copy changes nothing) and validated; `check`
 * runs before the version is stored and refuses it by throwing a FhirError; `react` runs after and
 * returns the resources the server changes because of it — whole resources with their ids, created or
 * updated when they differ from what is stored. One loop in the core applies them, and their own
 * reactions, before the answer is built, so a client is answered with the version that is stored.
 */
export interface WriteReaction {
  type: string;
  /** The fields the server keeps of a resource (a milestone's standing), set on what is about to be stored. */
  prepare?(svc: Services, resource: Resource): Resource;
  check?(svc: Services, tx: Tx, event: WriteEvent): Promise<void>;
  react?(svc: Services, tx: Tx, event: WriteEvent): Promise<Resource[]>;
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
