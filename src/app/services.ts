import type { SearchParameter } from '@medplum/fhirtypes';
import { systemClock, type Clock } from '../fhir/clock.js';
import {
  definitionsForApp,
  loadDefinitions,
  PROFILES_DIR,
  registerSearchParameter,
  type Definitions,
} from '../fhir/definitions.js';
import type { Operation } from '../fhir/operations/types.js';
import type { ResourceValidator } from '../fhir/ports.js';
import { IndexExtractor } from '../fhir/search/extract.js';
import { searchAll } from '../fhir/search/find-all.js';
import { SearchParameterSync } from '../fhir/search/parameter-sync.js';
import { DEFAULT_LIMITS, type Limits, type Services, type WriteReaction } from '../fhir/services.js';
import { ResourceStore } from '../fhir/store.js';
import { WakeSignal } from '../fhir/wake-signal.js';
import { personIdentity } from '../pathways/person-identity.js';
import { pathwayProgress } from '../pathways/progress.js';
import '../pathways/services.js';
import { PlanCache } from '../pathways/plan-cache.js';
import '../registry/services.js';
import { smartAccess } from '../security/authorize.js';
import '../security/services.js';
import type { Storage } from '../storage/types.js';
import { DEFAULT_BULK_SETTINGS, type BulkSettings } from '../bulk/services.js';
import { subscriptionChecks } from '../subscriptions/checks.js';
import { outboxHook } from '../subscriptions/outbox.js';
import { DEFAULT_SUBSCRIPTION_SETTINGS, Signal, type SubscriptionSettings } from '../subscriptions/services.js';
import { resolveTerminologyModifiers } from '../terminology/search-modifiers.js';
import { DEFAULT_TERMINOLOGY_LIMITS, type TerminologyLimits } from '../terminology/services.js';
import { GENERATION_TYPES, TerminologyStore } from '../terminology/source.js';
import { FhirValidator, loadProfiles } from '../validation/validator.js';
import { OPERATIONS } from './operations.js';

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
  /** The operations offered (default: every area's, src/app/operations.ts). */
  operations?: Operation[];
  definitions?: Definitions;
  terminology?: Partial<TerminologyLimits>;
  /** Where registry reports are written as files (none: stored only). */
  registryOutbox?: string;
  /** The most codes on one stored page of a registry report (default 5,000). */
  registryPageSize?: number;
  /** The unit (Organization/id) a pathway applied without `organization` is reported by. */
  pathwayDefaultUnit?: string;
  /** Which endpoints Subscriptions may deliver to, and how long an event is retried. */
  subscriptions?: Partial<SubscriptionSettings>;
  /** Bulk Data export: the file size bound and how long files are kept. */
  bulk?: Partial<BulkSettings>;
}

/**
 * The composition root: everything a handler needs, built once per app (or CLI command, or worker
 * thread) from explicit inputs — the core's store and definitions, and each area plugged into its port:
 * the validator, terminology's search hook, the pathway reactions, SMART access, the operation table.
 * `ready` resolves when the SearchParameter resources stored in the database are registered too.
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
  // every transaction ends by recording the events its writes give subscriptions (the outbox)
  const store = new ResourceStore(options.storage, extractor, clock, register).withCommitHook(
    outboxHook(() => services),
  );
  const terminology = new TerminologyStore(
    (types) => store.versionCount(types),
    (type, query) => searchAll(services, type, query),
  );
  // the stored SearchParameters now, and at each request those another server process wrote since
  const sync = new SearchParameterSync(options.storage, () => store.versionCount(['SearchParameter']), register);
  const services: Services = {
    store,
    terminology,
    terminologyLimits: { ...DEFAULT_TERMINOLOGY_LIMITS, ...options.terminology },
    defs,
    validator: options.validator ?? new FhirValidator(defs, terminology, loadProfiles(PROFILES_DIR)),
    clock,
    baseUrl: options.baseUrl.replace(/\/+$/, ''),
    limits: { ...DEFAULT_LIMITS, ...options.limits },
    validationMode: options.validationMode ?? 'strict',
    // a Subscription the server would not honour is refused whatever else reacts to writes
    reactions: [...(options.reactions ?? [pathwayProgress, personIdentity]), subscriptionChecks],
    operations: options.operations ?? OPERATIONS,
    access: smartAccess,
    searchHooks: [resolveTerminologyModifiers],
    refreshDefinitions: () => sync.check(),
    registryOutbox: options.registryOutbox,
    registryPageSize: options.registryPageSize,
    pathwayDefaultUnit: options.pathwayDefaultUnit,
    subscriptions: { ...DEFAULT_SUBSCRIPTION_SETTINGS, ...options.subscriptions },
    subscriptionSignal: new Signal(),
    bulk: { ...DEFAULT_BULK_SETTINGS, ...options.bulk },
    bulkSignal: new WakeSignal(),
    plans: new PlanCache({
      generation: () => store.versionCount(['PlanDefinition']),
      byUrl: (url) => terminology.searchAll('PlanDefinition', [['url', url]]),
    }),
  };
  // the generations above, each one row to read once counted (and counted the slow way until then)
  const counting = store.countVersions([...GENERATION_TYPES, 'PlanDefinition', 'SearchParameter']);
  return { ...services, ready: Promise.all([counting, sync.check()]).then(() => undefined) };
}
