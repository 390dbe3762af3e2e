import type { CodeSystem, OperationOutcomeIssue, Resource, ValueSet } from '@medplum/fhirtypes';
import type { SqlExecutor } from '../storage/types.js';
import type { FhirRequest } from './request.js';
import type { Route } from './routes.js';
import type { Criterion, SearchRequest } from './search/params.js';
import type { Services } from './services.js';
import type { VersionRow } from './store.js';

/**
 * The ports of the core: what `src/fhir` asks of the areas around it. The composition root (src/app)
 * hands it an implementation of each; the core imports none of the areas (eslint.config.js enforces it).
 */

/** A SMART action: create, read, update, delete, search. */
export type Action = 'c' | 'r' | 'u' | 'd' | 's';

/** One permission a request needs: an action on a type (`*`: every type); `whole`: not limited to one patient. */
export interface Need {
  type: string;
  action: Action;
  whole?: boolean;
}

/**
 * Who may do what. The core asks at its few decision points — a request or Bundle entry about to run, a
 * search about to be compiled, a stored version about to be changed or shown — and the policy answers
 * (src/security: SMART scopes and the Patient compartment). With no caller (authentication off, or the
 * server's own work) every answer is yes.
 */
export interface AccessPolicy {
  /** What a REST request needs (its route's R4 interaction → SMART actions). */
  needsOf(route: Route, req: FhirRequest): Need[];
  /** Refuses (403) what the caller's token does not grant. */
  authorize(svc: Services, needs: Need[]): void;
  /** Narrows a search's criteria to what the caller reaches (the patient's compartment). */
  limitSearch(svc: Services, type: string, criteria: Criterion[]): void;
  /** The included resources the caller may read. */
  visibleIncludes(svc: Services, rows: VersionRow[]): Promise<VersionRow[]>;
  /** A stored version the caller is about to change or delete must be within reach (else 404). */
  checkReachable(svc: Services, db: SqlExecutor, row: VersionRow, action: Action): Promise<void>;
  /** A version the caller wrote must be within reach (else 403, and the transaction rolls back). */
  checkWritten(svc: Services, tx: SqlExecutor, row: VersionRow, action: 'c' | 'u'): Promise<void>;
  /** The same services acting as the server itself (a reaction writes what the client's token may not). */
  asServer(svc: Services): Services;
}

/** Everything allowed: the policy of a core with no security area plugged in. */
export const OPEN_ACCESS: AccessPolicy = {
  needsOf: () => [],
  authorize: () => undefined,
  limitSearch: () => undefined,
  visibleIncludes: async (_svc, rows) => rows,
  checkReachable: async () => undefined,
  checkWritten: async () => undefined,
  asServer: (svc) => svc,
};

export interface ValidateOptions {
  /** Profiles (canonical urls) to validate against besides those in `meta.profile`. */
  profiles?: string[];
  /** Code systems and value sets to use besides the stored ones (like `tx-resource`: supporting files). */
  terminology?: (CodeSystem | ValueSet)[];
  /** What the validator may read once and reuse for the rest of the request (a Bundle's entries). */
  memo?: RequestMemo;
}

/**
 * Values read once per request and reused by its parts — the terminology generation a Bundle's hundred
 * validations would otherwise each read (issue 21). The core clears it when the request writes a
 * resource of one of the validator's `definitionTypes`, so what a request wrote is seen by its next entry.
 */
export type RequestMemo = Map<string, Promise<unknown>>;

/** The memo's value for `key`, read by `read` once per memo (each time without one). */
export function memoized<T>(memo: RequestMemo | undefined, key: string, read: () => Promise<T>): Promise<T> {
  if (!memo) return read();
  let value = memo.get(key) as Promise<T> | undefined;
  if (!value) {
    value = read();
    memo.set(key, value);
    // a failed read is not remembered: the next part of the request reads again
    value.catch(() => memo.delete(key));
  }
  return value;
}

/** What the store asks of a validator on every write (and `$validate` and the command ask directly). */
export interface ResourceValidator {
  validate(resource: Resource, options?: ValidateOptions): Promise<OperationOutcomeIssue[]>;
  /** The profiles of a resource type it validates against (for the CapabilityStatement). */
  supportedProfiles(type: string): string[];
  /** Types whose writes change what it validates against: a request's memo is cleared by them. */
  readonly definitionTypes?: readonly string[];
}

/** Rewrites a parsed search before it is compiled (terminology expands `:in`, `:below` … into codes). */
export type SearchHook = (svc: Services, req: SearchRequest) => Promise<void>;
