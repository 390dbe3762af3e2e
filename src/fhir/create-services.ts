import type { SearchParameter } from '@medplum/fhirtypes';
import type { Storage } from '../storage/types.js';
import { BasicValidator } from '../validation/basic.js';
import type { ResourceValidator } from '../validation/types.js';
import { systemClock, type Clock } from './clock.js';
import { definitionsForApp, loadDefinitions, registerSearchParameter, type Definitions } from './definitions.js';
import { IndexExtractor } from './search/extract.js';
import { DEFAULT_LIMITS, type Limits, type Services } from './services.js';
import { ResourceStore } from './store.js';

export interface ServiceOptions {
  storage: Storage;
  /** Public base URL of the FHIR endpoint, e.g. http://localhost:8080/fhir. */
  baseUrl: string;
  clock?: Clock;
  limits?: Partial<Limits>;
  validator?: ResourceValidator;
  validationMode?: 'strict' | 'lenient';
  definitions?: Definitions;
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
  const services: Services = {
    store: new ResourceStore(options.storage, extractor, clock, register),
    defs,
    validator: options.validator ?? new BasicValidator(defs),
    clock,
    baseUrl: options.baseUrl.replace(/\/+$/, ''),
    limits: { ...DEFAULT_LIMITS, ...options.limits },
    validationMode: options.validationMode ?? 'strict',
  };
  const ready = (async () => {
    const rows = await options.storage.all<{ content: string }>(`SELECT content FROM resources WHERE type = 'SearchParameter' AND deleted = 0`);
    for (const { content } of rows) register(JSON.parse(content) as SearchParameter);
  })();
  return { ...services, ready };
}
