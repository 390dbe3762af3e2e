import type { BindingCheck } from './walker.js';

interface ConceptMapJson {
  sourceCanonical?: unknown;
  sourceUri?: unknown;
  group?: { source?: unknown; element?: { code?: unknown }[] }[];
}

/**
 * A ConceptMap maps codes of its source value set (R4 conceptmap.html: `source[x]` is "the source
 * value set that contains the concepts that are being mapped"): each group element's code, in the
 * group's source system, must be in that value set — checked as a required binding, so a value set
 * we do not hold is not checked.
 */
export function conceptMapBindings(map: ConceptMapJson, path: string): BindingCheck[] {
  const source = typeof map.sourceCanonical === 'string' ? map.sourceCanonical : map.sourceUri;
  if (typeof source !== 'string' || !Array.isArray(map.group)) return [];
  return map.group.flatMap((g, i) =>
    (Array.isArray(g?.element) ? g.element : [])
      .map((el, j) => ({ el, j }))
      .filter(({ el }) => typeof el?.code === 'string')
      .map(({ el, j }) => ({
        valueSet: source,
        strength: 'required' as const,
        type: 'Coding',
        value: { system: typeof g.source === 'string' ? g.source : undefined, code: el.code as string },
        path: `${path}.group[${i}].element[${j}].code`,
      })),
  );
}
