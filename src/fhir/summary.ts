import type { Resource } from '@medplum/fhirtypes';
import type { Definitions } from './definitions.js';

/**
 * `_summary` and `_elements` (R4 §3.1.1.5.8–9): a subset of the top-level elements, marked with the
 * SUBSETTED tag so a client never mistakes it for the whole resource.
 */
const SUBSETTED = { system: 'http://terminology.hl7.org/CodeSystem/v3-ObservationValue', code: 'SUBSETTED' };
const summaryCache = new Map<string, Set<string>>();

function summaryElements(defs: Definitions, type: string): Set<string> {
  let set = summaryCache.get(type);
  if (set) return set;
  set = new Set(['id', 'meta']);
  for (const el of defs.structures.get(type)?.snapshot?.element ?? []) {
    const rest = (el.path ?? '').slice(type.length + 1);
    if (!rest || rest.includes('.') || !(el.isSummary || (el.min ?? 0) > 0)) continue;
    set.add(rest.replace(/\[x\]$/, ''));
  }
  summaryCache.set(type, set);
  return set;
}

function pick(resource: Resource, keep: (key: string) => boolean): Resource {
  const out: Record<string, unknown> = { resourceType: resource.resourceType };
  for (const [k, v] of Object.entries(resource)) {
    if (k === 'resourceType') continue;
    const name = k.startsWith('_') ? k.slice(1) : k;
    if (keep(name) || keep(name.replace(/[A-Z][A-Za-z]*$/, ''))) out[k] = v;
  }
  const meta = { ...(out.meta as Record<string, unknown> | undefined) };
  meta.tag = [...((meta.tag as unknown[]) ?? []), SUBSETTED];
  out.meta = meta;
  return out as unknown as Resource;
}

export function applySummary(
  defs: Definitions,
  resource: Resource,
  summary: string | undefined,
  elements: string[] | undefined,
): Resource {
  if (elements?.length) {
    const wanted = new Set(['id', 'meta', ...elements.map((e) => e.replace(/^[A-Z][A-Za-z]*\./, ''))]);
    return pick(resource, (k) => wanted.has(k));
  }
  switch (summary) {
    case 'true': {
      const set = summaryElements(defs, resource.resourceType);
      return pick(resource, (k) => set.has(k));
    }
    case 'text': {
      const set = new Set([
        'id',
        'meta',
        'text',
        ...[...summaryElements(defs, resource.resourceType)].filter((k) => isMandatory(defs, resource.resourceType, k)),
      ]);
      return pick(resource, (k) => set.has(k));
    }
    case 'data':
      return pick(resource, (k) => k !== 'text');
    default:
      return resource;
  }
}

function isMandatory(defs: Definitions, type: string, key: string): boolean {
  const el = defs.structures
    .get(type)
    ?.snapshot?.element?.find((e) => e.path === `${type}.${key}` || e.path === `${type}.${key}[x]`);
  return (el?.min ?? 0) > 0;
}
