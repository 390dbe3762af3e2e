import type { ElementDefinition, Resource, StructureDefinition } from '@medplum/fhirtypes';
import type { Definitions } from '../definitions.js';

/**
 * A fast path for the commonest search-parameter expressions: plain paths such as `Patient.name.family`
 * or `Patient.address.city | Patient.address.state`, walked directly over the JSON instead of through
 * fhirpath.js, which wraps every node it passes (index extraction was a fifth of a create's CPU,
 * issue 21). A path is plain only if every step is an element of the StructureDefinitions with one type
 * and no choice (`value[x]` is stored as `valueQuantity` …), no content reference and no resource
 * inside: exactly the steps where FHIRPath's navigation is JSON's (R4 FHIRPath §5.1, with the JSON
 * representation of §2.6.2). Anything else — a choice, `where()`, `as`, `resolve()` — stays with
 * fhirpath.js. Duplicates a union (`|`) would remove are removed by the extractor's row key.
 */
const PLAIN = /^[A-Z][A-Za-z]*(\.[a-z][A-Za-z]*)+$/;

export type PathFn = (resource: Resource) => unknown[];

/** A JSON walker for `expression` on `type`, or undefined when the expression is not plain. */
export function plainPath(defs: Definitions, type: string, expression: string): PathFn | undefined {
  const members = expression.split('|').map((m) => m.trim());
  const walks: string[][] = [];
  for (const member of members) {
    if (!PLAIN.test(member)) return undefined;
    const [head, ...steps] = member.split('.');
    if (head !== type || !stepsArePlain(defs, head, steps)) return undefined;
    walks.push(steps);
  }
  return (resource) => walks.flatMap((steps) => walk(resource, steps));
}

/** Whether each step names an element of one non-choice type (switching definitions at datatypes). */
function stepsArePlain(defs: Definitions, type: string, steps: string[]): boolean {
  let sd: StructureDefinition | undefined = defs.structures.get(type);
  let path = type;
  for (const step of steps) {
    const element: ElementDefinition | undefined = elementOf(sd, `${path}.${step}`);
    if (!element || element.contentReference || element.type?.length !== 1) return false;
    const code = element.type[0].code as string;
    if (code === 'Resource' || defs.resourceTypes.has(code)) return false;
    if (code === 'BackboneElement' || code === 'Element') {
      path = `${path}.${step}`;
    } else {
      sd = defs.structures.get(code);
      path = code;
    }
  }
  return true;
}

const elementsByPath = new WeakMap<StructureDefinition, Map<string, ElementDefinition>>();

function elementOf(sd: StructureDefinition | undefined, path: string): ElementDefinition | undefined {
  if (!sd) return undefined;
  let byPath = elementsByPath.get(sd);
  if (!byPath) {
    byPath = new Map((sd.snapshot?.element ?? []).map((e) => [e.path as string, e]));
    elementsByPath.set(sd, byPath);
  }
  return byPath.get(path);
}

/** The values at `steps` below `node`, arrays flattened at every step as FHIRPath does. */
function walk(node: unknown, steps: string[]): unknown[] {
  let current: unknown[] = [node];
  for (const step of steps) {
    const next: unknown[] = [];
    for (const item of current) {
      const value = (item as Record<string, unknown>)[step];
      if (value === undefined || value === null) continue;
      if (Array.isArray(value)) {
        for (const v of value) if (v !== null && v !== undefined) next.push(v);
      } else next.push(value);
    }
    if (!next.length) return next;
    current = next;
  }
  return current;
}
