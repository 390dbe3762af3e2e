import type { Coding, ConceptMap, ConceptMapGroup, Parameters, ParametersParameter } from '@medplum/fhirtypes';

/** One translation found in a ConceptMap. */
export interface Match {
  equivalence: string;
  concept?: Coding;
  /** Other elements the target produces (R4 ConceptMap.group.element.target.product). */
  products: { property: string; concept: Coding }[];
  comment?: string;
  source: string;
  /** Reverse only: the (target) code that was asked about. */
  given?: Coding;
}

/**
 * R5 ConceptMap's `relationship` read as the R4 `equivalence` (R5 §ConceptMap, "Mappings between R4
 * equivalence and R5 relationship"): maps sent in R5 form translate like R4 ones.
 */
const FROM_RELATIONSHIP: Record<string, string> = {
  equivalent: 'equivalent',
  'related-to': 'relatedto',
  'source-is-narrower-than-target': 'wider',
  'source-is-broader-than-target': 'narrower',
  'not-related-to': 'disjoint',
};

function equivalenceOf(t: { equivalence?: string; relationship?: string }): string {
  return t.equivalence ?? (t.relationship ? FROM_RELATIONSHIP[t.relationship] : undefined) ?? 'equivalent';
}

/** Equivalences that are not translations (R4 concept-map-equivalence). */
const NO_MATCH = new Set(['unmatched', 'disjoint']);

/**
 * `ConceptMap/$translate` (R4 §4.10.16.1) over some maps: forward from group.source to
 * group.target, or with `reverse` from target back to source. Groups' `unmapped` rules
 * (`provided`, `fixed`) apply when no element has the code.
 */
export function translateCoding(
  maps: ConceptMap[],
  coding: Coding,
  targetSystem: string | undefined,
  reverse: boolean,
): Match[] {
  const matches: Match[] = [];
  for (const map of maps) {
    const source = `${map.url ?? ''}${map.version ? `|${map.version}` : ''}`;
    for (const group of map.group ?? []) {
      const from = reverse ? group.target : group.source;
      const to = reverse ? group.source : group.target;
      if (coding.system && from && from !== coding.system) continue;
      if (targetSystem && to && to !== targetSystem) continue;
      const found = reverse ? reverseMatches(group, coding.code, source) : forwardMatches(group, coding.code, source);
      if (found.length) matches.push(...found);
      else if (!reverse && group.unmapped) matches.push(...unmapped(group, coding, source));
    }
  }
  return matches;
}

function forwardMatches(group: ConceptMapGroup, code: string | undefined, source: string): Match[] {
  return (group.element ?? [])
    .filter((e) => e.code === code)
    .flatMap((e) =>
      (e.target?.length ? e.target : [{ equivalence: 'unmatched' as const }]).map((t) => ({
        equivalence: equivalenceOf(t),
        concept:
          'code' in t && t.code
            ? {
                system: group.target,
                ...(group.targetVersion ? { version: group.targetVersion } : {}),
                code: t.code,
                ...(t.display ? { display: t.display } : {}),
              }
            : undefined,
        products:
          'product' in t
            ? (t.product ?? []).map((p) => ({
                property: p.property as string,
                concept: { system: p.system, code: p.value, ...(p.display ? { display: p.display } : {}) },
              }))
            : [],
        comment: 'comment' in t ? t.comment : undefined,
        source,
      })),
    );
}

function reverseMatches(group: ConceptMapGroup, code: string | undefined, source: string): Match[] {
  const out: Match[] = [];
  for (const e of group.element ?? []) {
    for (const t of e.target ?? []) {
      if (t.code !== code || !code) continue;
      out.push({
        equivalence: reverseEquivalence(equivalenceOf(t)),
        concept: { system: group.source, code: e.code, ...(e.display ? { display: e.display } : {}) },
        given: { system: group.target, code },
        products: [],
        comment: t.comment,
        source,
      });
    }
  }
  return out;
}

/** Read backwards, a wider target is a narrower source, and so on. */
function reverseEquivalence(eq: string): string {
  return (
    (
      { wider: 'narrower', narrower: 'wider', subsumes: 'specializes', specializes: 'subsumes' } as Record<
        string,
        string
      >
    )[eq] ?? eq
  );
}

function unmapped(group: ConceptMapGroup, coding: Coding, source: string): Match[] {
  const u = group.unmapped;
  if (u?.mode === 'provided')
    return [{ equivalence: 'equal', concept: { system: group.target, code: coding.code }, products: [], source }];
  if (u?.mode === 'fixed' && u.code)
    return [
      {
        equivalence: 'equivalent',
        concept: { system: group.target, code: u.code, ...(u.display ? { display: u.display } : {}) },
        products: [],
        source,
      },
    ];
  return [];
}

/**
 * The answer. In R4 form each match has `equivalence`, `concept` and the map as `source` (uri). A
 * request in R5 form gets R5's part names: the map as `originMap`, and when translating backwards the
 * code asked about as `concept` and the code found as `source` (both stay on their side of the map).
 */
export function translationParameters(matches: Match[], coding: Coding, r5?: { reverse: boolean }): Parameters {
  const good = matches.filter((m) => !NO_MATCH.has(m.equivalence));
  const out: ParametersParameter[] = [{ name: 'result', valueBoolean: good.length > 0 }];
  if (!good.length)
    out.push({
      name: 'message',
      valueString: `No translations found for ${coding.system ?? ''}#${coding.code ?? ''}${matches.length ? ' (only unmatched entries)' : ''}`,
    });
  for (const m of matches) {
    if (r5) {
      out.push({ name: 'match', part: r5Parts(m, r5.reverse) });
      continue;
    }
    out.push({
      name: 'match',
      part: [
        { name: 'equivalence', valueCode: m.equivalence },
        ...(m.concept ? [{ name: 'concept', valueCoding: m.concept }] : []),
        ...m.products.map((p) => ({
          name: 'product',
          part: [
            { name: 'element', valueUri: p.property },
            { name: 'concept', valueCoding: p.concept },
          ],
        })),
        { name: 'source', valueUri: m.source },
      ],
    });
  }
  return { resourceType: 'Parameters', parameter: out };
}

function r5Parts(m: Match, reverse: boolean): ParametersParameter[] {
  const [concept, source] = reverse ? [m.given, m.concept] : [m.concept, undefined];
  return [
    { name: 'equivalence', valueCode: reverse ? reverseEquivalence(m.equivalence) : m.equivalence },
    ...(concept ? [{ name: 'concept', valueCoding: concept }] : []),
    ...(source ? [{ name: 'source', valueCoding: source }] : []),
    ...m.products.map((p) => ({
      name: 'product',
      part: [
        { name: 'attribute', valueUri: p.property },
        { name: 'concept', valueCoding: p.concept },
      ],
    })),
    { name: 'originMap', valueCanonical: m.source },
  ];
}
