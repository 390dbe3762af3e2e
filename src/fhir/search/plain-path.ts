import type { ElementDefinition, Resource, StructureDefinition } from '@medplum/fhirtypes';
import type { Definitions } from '../definitions.js';

/**
 * A fast path for the commonest search-parameter expressions, walked directly over the JSON instead of
 * through fhirpath.js, which wraps every node it passes (index extraction was a fifth of a create's CPU,
 * issue 21). A member of a union (`|`) is plain when, after its type (or `Resource`/`DomainResource`,
 * whose elements every resource has), each step is one of:
 * - an element of the StructureDefinitions with one type and no content reference or resource inside:
 *   exactly where FHIRPath's navigation is JSON's (R4 FHIRPath §5.1, JSON representation §2.6.2);
 * - a choice element followed by `ofType(T)`: the JSON property `nameT` (R4 §2.24.0.1, choice names);
 * - `where(e = 'literal')` on a single string-like element `e`: FHIRPath string equality is exact;
 * - `where(reference.startsWith('T/'))` on a Reference (what the extractor makes of `resolve() is T`).
 * Anything else — other functions, `as`, operators — stays with fhirpath.js. Duplicates a union would
 * remove are removed by the extractor's row key. test/search/plain-path.test.ts checks every parameter
 * the walker takes against fhirpath.js on the 711 R4 examples.
 */
export type PathFn = (resource: Resource) => unknown[];

/** One step of a walk: into a JSON property, or keeping the items a test passes. */
type Step = { key: string } | { keep: (item: Record<string, unknown>) => boolean };

/** Where a walk stands in the definitions: a StructureDefinition and the element path inside it. */
interface Position {
  sd: StructureDefinition | undefined;
  path: string;
}

const ELEMENT = /^[a-z][A-Za-z]*$/;
const OF_TYPE = /^ofType\(([A-Za-z]+)\)$/;
const WHERE_EQUALS = /^where\(([a-z][A-Za-z]*)\s*=\s*'([^'\\]*)'\)$/;
const WHERE_REFERENCE = /^where\(reference\.startsWith\('([A-Z][A-Za-z]*\/)'\)\)$/;
/** String-like primitives whose FHIRPath `=` on a literal is JSON string equality. */
const STRING_TYPES = new Set(['code', 'string', 'uri', 'id', 'url', 'canonical', 'oid', 'uuid']);

/** A JSON walker for `expression` on `type`, or undefined when the expression is not plain. */
export function plainPath(defs: Definitions, type: string, expression: string): PathFn | undefined {
  const walks: Step[][] = [];
  for (const member of splitUnion(expression)) {
    const walk = plainMember(defs, type, unwrap(member));
    if (!walk) return undefined;
    walks.push(walk);
  }
  return (resource) => walks.flatMap((steps) => walk(resource, steps));
}

/** The steps of one member of a union, or undefined when one of them is not plain. */
function plainMember(defs: Definitions, type: string, member: string): Step[] | undefined {
  const [head, ...parts] = splitSteps(member);
  if (head !== type && head !== 'Resource' && head !== 'DomainResource') return undefined;
  if (!parts.length) return undefined;
  const steps: Step[] = [];
  let at: Position = { sd: defs.structures.get(type), path: type };
  for (let i = 0; i < parts.length; i++) {
    const choiceType = parts[i + 1]?.match(OF_TYPE)?.[1];
    const next = choiceType
      ? choiceStep(defs, at, parts[i], choiceType, steps)
      : ELEMENT.test(parts[i])
        ? elementStep(defs, at, parts[i], steps)
        : filterStep(defs, at, parts[i], steps);
    if (!next) return undefined;
    if (choiceType) i++;
    at = next;
  }
  return steps;
}

/** Into a single-typed element: its position, or undefined when it is not one. */
function elementStep(defs: Definitions, at: Position, name: string, steps: Step[]): Position | undefined {
  const element = elementOf(at.sd, `${at.path}.${name}`);
  if (!element || element.contentReference || element.type?.length !== 1) return undefined;
  steps.push({ key: name });
  return into(defs, at, name, element.type[0].code as string);
}

/** `name.ofType(T)` on a choice element `name[x]` that allows T: the JSON property `nameT`. */
function choiceStep(defs: Definitions, at: Position, name: string, type: string, steps: Step[]) {
  const element = elementOf(at.sd, `${at.path}.${name}[x]`);
  if (!element?.type?.some((t) => t.code === type)) return undefined;
  steps.push({ key: `${name}${type[0].toUpperCase()}${type.slice(1)}` });
  return into(defs, at, name, type);
}

/** A `where()` the walker can decide on each item's JSON; the position stays. */
function filterStep(defs: Definitions, at: Position, part: string, steps: Step[]): Position | undefined {
  const prefix = part.match(WHERE_REFERENCE)?.[1];
  if (prefix) {
    if (at.sd?.type !== 'Reference' || at.path !== 'Reference') return undefined;
    steps.push({ keep: (item) => typeof item.reference === 'string' && item.reference.startsWith(prefix) });
    return at;
  }
  const [, name, literal] = part.match(WHERE_EQUALS) ?? [];
  if (!name) return undefined;
  const element = elementOf(at.sd, `${at.path}.${name}`);
  const code = element?.type?.length === 1 ? element.type[0].code : undefined;
  // a repeating element compared with one value is a collection comparison, not a string's
  if (!code || !STRING_TYPES.has(code) || element?.max !== '1') return undefined;
  steps.push({ keep: (item) => item[name] === literal });
  return at;
}

/** The position after stepping into `name` of `code`: a backbone stays in its definition. */
function into(defs: Definitions, at: Position, name: string, code: string): Position | undefined {
  if (code === 'Resource' || defs.resourceTypes.has(code)) return undefined;
  if (code === 'BackboneElement' || code === 'Element') return { sd: at.sd, path: `${at.path}.${name}` };
  return { sd: defs.structures.get(code), path: code };
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
function walk(node: unknown, steps: Step[]): unknown[] {
  let current: unknown[] = [node];
  for (const step of steps) {
    if ('keep' in step) {
      current = current.filter((item) => typeof item === 'object' && step.keep(item as Record<string, unknown>));
      if (!current.length) return current;
      continue;
    }
    const next: unknown[] = [];
    for (const item of current) {
      const value = (item as Record<string, unknown>)[step.key];
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

/** `(X)` as `X`, when the parentheses hold the whole member. */
function unwrap(member: string): string {
  const inner = member.match(/^\((.*)\)$/)?.[1];
  return inner !== undefined && splitSteps(inner).length && balanced(inner) ? inner.trim() : member;
}

function balanced(text: string): boolean {
  let depth = 0;
  for (const c of text) {
    depth += c === '(' ? 1 : c === ')' ? -1 : 0;
    if (depth < 0) return false;
  }
  return depth === 0;
}

/** Splits at `separator` outside parentheses and quoted strings. */
function splitOutside(expr: string, separator: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let quote = false;
  let start = 0;
  for (let i = 0; i < expr.length; i++) {
    const c = expr[i];
    if (c === "'" && expr[i - 1] !== '\\') quote = !quote;
    if (quote) continue;
    if (c === '(') depth++;
    else if (c === ')') depth--;
    else if (c === separator && depth === 0) {
      parts.push(expr.slice(start, i).trim());
      start = i + 1;
    }
  }
  parts.push(expr.slice(start).trim());
  return parts;
}

/** The members of a FHIRPath union (`a | b`), split outside parentheses and strings. */
export function splitUnion(expr: string): string[] {
  return splitOutside(expr, '|');
}

const splitSteps = (member: string) => splitOutside(member, '.');
