import { join } from 'node:path';
import { readCanonical, storeCanonical, type Canonical, type LoadReport } from '../fhir/canonical-loader.js';
import type { Services } from '../fhir/services.js';
import { TERMINOLOGY_TYPES } from './source.js';

export const VALUESETS_DIR = join(import.meta.dirname, '../../valuesets');

/** The shipped terminology: `valuesets/*.json`, CodeSystems, ValueSets, ConceptMaps and nothing else. */
export function shippedTerminology(dir = VALUESETS_DIR): Canonical[] {
  return readCanonical(dir, TERMINOLOGY_TYPES, { strict: true });
}

/**
 * Loads the shipped terminology (shippedTerminology) at start-up, idempotently by canonical url and
 * version (see storeCanonical).
 */
export function loadTerminology(svc: Services, dir = VALUESETS_DIR): Promise<LoadReport> {
  return storeCanonical(svc, shippedTerminology(dir), TERMINOLOGY_TYPES, dir);
}
