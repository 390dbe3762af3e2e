import type { Resource } from '@medplum/fhirtypes';
import type { Definitions } from '../fhir/definitions.js';
import { applySummary } from '../fhir/summary.js';

const mandatoryCache = new WeakMap<Definitions, Map<string, string[]>>();

/** The type's top-level elements with a minimum cardinality above 0 (its StructureDefinition). */
function mandatory(defs: Definitions, type: string): string[] {
  let byType = mandatoryCache.get(defs);
  if (!byType) mandatoryCache.set(defs, (byType = new Map()));
  let names = byType.get(type);
  if (!names) {
    names = (defs.structures.get(type)?.snapshot?.element ?? [])
      .filter((e) => (e.min ?? 0) > 0 && /^[A-Za-z]+\.[a-zA-Z]+(\[x\])?$/.test(e.path ?? ''))
      .map((e) => (e.path ?? '').split('.')[1].replace(/\[x\]$/, ''));
    byType.set(type, names);
  }
  return names;
}

/**
 * The `_elements` that apply to one type: those named `Type.element`, and those named without a type
 * (Bulk Data IG: they apply to every type), with the type's mandatory elements (R4 §3.1.1.5.9: "servers
 * SHOULD always return mandatory elements whether they are requested or not"). None: the whole resource.
 */
export function elementsFor(defs: Definitions, elements: string[] | undefined, type: string): string[] | undefined {
  if (!elements) return undefined;
  const mine = elements.filter((e) => !e.includes('.') || e.startsWith(`${type}.`)).map((e) => e.split('.').pop()!);
  return mine.length ? [...new Set([...mine, ...mandatory(defs, type)])] : undefined;
}

/**
 * One NDJSON line of a resource: the stored JSON as it is (JSON text never holds a raw line break), or
 * with `_elements` its subset, marked SUBSETTED (R4 §3.1.1.5.9, as the IG asks of `_elements`).
 */
export function resourceLine(defs: Definitions, content: string, elements: string[] | undefined): string {
  if (!elements) return content;
  return JSON.stringify(applySummary(defs, JSON.parse(content) as Resource, undefined, elements));
}

/**
 * One line of a `deleted` file: a transaction Bundle whose entry deletes the resource (Bulk Data IG,
 * the manifest's `deleted`: request.method DELETE and request.url set).
 */
export function deletedLine(type: string, id: string, lastUpdated: string): string {
  return JSON.stringify({
    resourceType: 'Bundle',
    type: 'transaction',
    meta: { lastUpdated },
    entry: [{ request: { method: 'DELETE', url: `${type}/${id}` } }],
  });
}
