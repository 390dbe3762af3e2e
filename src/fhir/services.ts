import type { Resource } from '@medplum/fhirtypes';
import type { Tx } from '../storage/types.js';
import type { Clock } from './clock.js';
import type { Definitions } from './definitions.js';
import type { Operation } from './operations/types.js';
import type { AccessPolicy, RequestMemo, ResourceValidator, SearchHook } from './ports.js';
import type { ResourceStore } from './store.js';

/** Limits that protect the server from oversized input; all configurable. */
export interface Limits {
  maxBodyBytes: number;
  maxBundleEntries: number;
  maxJsonDepth: number;
  defaultCount: number;
  maxCount: number;
}

/**
 * Everything a handler may use, passed in once through buildApp by the composition root (src/app): no
 * hidden globals. The core's own needs are here, the areas' through the ports (src/fhir/ports.ts); an area
 * that carries state of its own in the services adds its fields to this interface from its own folder
 * (TypeScript module augmentation: src/terminology/services.ts, src/security/services.ts …), so the core
 * never imports it.
 */
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
  /** What follows a write, in the same transaction (a completed pathway milestone sets the next due dates). */
  reactions: WriteReaction[];
  /** Every operation the server offers: routing and the CapabilityStatement are both read from it. */
  operations: Operation[];
  /** Who may do what (SMART scopes when security is plugged in; open otherwise). */
  access: AccessPolicy;
  /** What rewrites a parsed search before it runs (terminology's `:in`, `:below` …). */
  searchHooks: SearchHook[];
  /** Brings the definitions up to date with what another server process wrote (SearchParameters): once per request. */
  refreshDefinitions(): Promise<void>;
  /** One request's memo (set per request by the pipeline; absent for the server's own work). */
  requestMemo?: RequestMemo;
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
  /** `writer`: the services of whoever made the write (a client's token), for checks that depend on it. */
  check?(svc: Services, tx: Tx, event: WriteEvent, writer: Services): Promise<void>;
  react?(svc: Services, tx: Tx, event: WriteEvent): Promise<Resource[]>;
}

export const DEFAULT_LIMITS: Limits = {
  maxBodyBytes: 20 * 1024 * 1024,
  maxBundleEntries: 10_000,
  maxJsonDepth: 64,
  defaultCount: 20,
  maxCount: 1000,
};
