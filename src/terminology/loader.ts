import { join } from 'node:path';
import { loadCanonical, type LoadReport } from '../fhir/canonical-loader.js';
import type { Services } from '../fhir/services.js';
import { TERMINOLOGY_TYPES } from './source.js';

export const VALUESETS_DIR = join(import.meta.dirname, '../../valuesets');

/**
 * Loads the shipped terminology (`valuesets/*.json`: CodeSystems, ValueSets, ConceptMaps and
 * nothing else) at start-up, idempotently by canonical url and version (see loadCanonical).
 */
export function loadTerminology(svc: Services, dir = VALUESETS_DIR): Promise<LoadReport> {
  return loadCanonical(svc, dir, TERMINOLOGY_TYPES, { strict: true });
}
