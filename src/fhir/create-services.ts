import type { SearchParameter } from '@medplum/fhirtypes';
import type { Storage } from '../storage/types.js';
import { FhirValidator, loadProfiles } from '../validation/validator.js';
import type { ResourceValidator } from '../validation/types.js';
import { systemClock, type Clock } from './clock.js';
import { definitionsForApp, loadDefinitions, PROFILES_DIR, registerSearchParameter, type Definitions } from './definitions.js';
import { IndexExtractor } from './search/extract.js';
import { DEFAULT_LIMITS, DEFAULT_TERMINOLOGY_LIMITS, type Limits, type Services, type TerminologyLimits, type WriteReaction } from './services.js';
import { TerminologyStore } from '../terminology/source.js';
import { pathwayProgress } from '../pathways/progress.js';
import { personIdentity } from '../pathways/person-identity.js';
import { parseSearch } from './search/params.js';
import { runSearch } from './search/execute.js';
import { ResourceStore } from './store.js';
import { SearchParameterSync } from './search/parameter-sync.js';

export interface ServiceOptions {
  storage: Storage;
  /** Public base URL of the FHIR endpoint, e.g. http://localhost:8080/fhir. */
  baseUrl: string;
  clock?: Clock;
  limits?: Partial<Limits>;
  validator?: ResourceValidator;
  validationMode?: 'strict' | 'lenient';
  /** What follows a write in its transaction (default: pathway progress and one Patient per person). */
  reactions?: WriteReaction[];
  definitions?: Definitions;
  terminology?: Partial<TerminologyLimits>;
  /** Where registry reports are written as files (none: stored only). */
  registryOutbox?: string;
  /** The most codes on one stored page of a registry report (default 5,000). */
  registryPageSize?: number;
  /** The unit (Organization/id) a pathway applied without `organization` is reported by. */
  pathwayDefaultUnit?: string;
}

/**
 * Everything a handler needs, built once per app (or CLI command) from explicit inputs. `ready`
 * resolves when the SearchParameter resources stored in the database are registered too.
 */
export function createServices(options: ServiceOptions): Services & { ready: Promise<void> } {
  const defs = definitionsForApp(options.definitions ?? loadDefinitions());
  const extractor = new IndexExtractor(defs);
  const clock = options.clock ?? systemClock;
  // only active parameters are indexed; drafts and retired ones are stored as they are
  const register = (sp: SearchParameter) => {
    if (sp.status === 'active') extractor.invalidate(registerSearchParameter(defs, sp));
  };
  // terminology lookups are ordinary searches (url, identifier, source-system), every match
  const searchAll = async (type: string, query: [string, string][]) => {
    const req = parseSearch(defs, type, query, { defaultCount: 10_000, maxCount: 10_000 }, true);
    req.total = 'none';
    return (await runSearch(services, req)).rows.map((r) => r.content as string);
  };
  const terminology = new TerminologyStore(options.storage, searchAll);
  const services: Services = {
    store: new ResourceStore(options.storage, extractor, clock, register),
    terminology,
    terminologyLimits: { ...DEFAULT_TERMINOLOGY_LIMITS, ...options.terminology },
    defs,
    validator: options.validator ?? new FhirValidator(defs, terminology, loadProfiles(PROFILES_DIR)),
    clock,
    baseUrl: options.baseUrl.replace(/\/+$/, ''),
    limits: { ...DEFAULT_LIMITS, ...options.limits },
    validationMode: options.validationMode ?? 'strict',
    reactions: options.reactions ?? [pathwayProgress, personIdentity],
    registryOutbox: options.registryOutbox,
    registryPageSize: options.registryPageSize,
    pathwayDefaultUnit: options.pathwayDefaultUnit,
  };
  // the stored SearchParameters now, and at each request those another server process wrote since
  const sync = new SearchParameterSync(options.storage, register);
  syncs.set(defs, sync);
  const ready = sync.check();
  return { ...services, ready };
}

const syncs = new WeakMap<Definitions, SearchParameterSync>();

/**
 * Brings the app's search parameters up to date with the SearchParameters in the database, written
 * by any server process: one count, once per request (security/guard.ts; docs/scale-out.md).
 */
export function syncSearchParameters(svc: Services): Promise<void> {
  return syncs.get(svc.defs)?.check() ?? Promise.resolve();
}
