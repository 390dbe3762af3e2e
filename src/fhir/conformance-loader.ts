import { readCanonical, storeCanonical, type Canonical, type LoadReport } from './canonical-loader.js';
import { PROFILES_DIR } from './definitions.js';
import type { Services } from './services.js';

/** The conformance resources the CapabilityStatement names (R4 §2.13 canonical references). */
export const CONFORMANCE_TYPES = [
  'CompartmentDefinition',
  'OperationDefinition',
  'SearchParameter',
  'StructureDefinition',
] as const;

/**
 * Loads the definitions the server ships and names at start-up, idempotently by canonical url and
 * version (see storeCanonical), so a client can read what the CapabilityStatement refers to (R4
 * §3.1.0.13): the OperationDefinitions, StructureDefinitions and SearchParameters of `profiles/`, and
 * the copies of FHIR's own definitions it names: the core OperationDefinitions of the operations it
 * offers ($expand, $validate…) and the compartments it supports. The other core definitions (the
 * base resources' StructureDefinitions, the core SearchParameters) are not named, so not copied.
 */
export function loadConformance(svc: Services, dir = PROFILES_DIR): Promise<LoadReport> {
  return storeCanonical(svc, [...shippedConformance(dir), ...coreDefinitionsNamed(svc)], CONFORMANCE_TYPES, dir);
}

/** Our own definitions in `profiles/` (FHIR's own copies are the R4 specification's, hl7.fhir.r4.core). */
export function shippedConformance(dir = PROFILES_DIR): Canonical[] {
  return readCanonical(dir, CONFORMANCE_TYPES);
}

/** FHIR's own definitions (from the official R4 bundle, kept by loadDefinitions) whose canonical the server names. */
function coreDefinitionsNamed(svc: Services): Canonical[] {
  const named = new Set<string>([
    ...svc.operations.map((o) => o.definition),
    ...[...svc.defs.compartments.values()].map((c) => c.url),
  ]);
  return [...svc.defs.coreConformance.values()].filter((r) => named.has(r.url as string)) as Canonical[];
}
