import type { ValueSetComposeIncludeFilter } from '@medplum/fhirtypes';
import { RE2JS } from 're2js';
import { FhirError } from '../fhir/errors.js';
import type { CodeSystemIndex, Concept } from './codesystem.js';

/** A compiled ValueSet.compose.include.filter: a predicate over the code system's concepts. */
export type ConceptTest = (c: Concept) => boolean;

const HIERARCHY_PROPERTIES = new Set(['concept', 'code', 'parent', 'child']);

/**
 * Compiles one filter (R4 §4.9.5 `filter-operator`, plus R5's `child-of` and `descendent-leaf`,
 * which R4 servers commonly accept). A filter we cannot evaluate is an error, never "match all".
 */
export function compileFilter(cs: CodeSystemIndex, f: ValueSetComposeIncludeFilter, where: string): ConceptTest {
  const property = f.property ?? '';
  const value = f.value ?? '';
  const op = f.op as string;
  // regex and exists match values (the code itself, its parents' or children's codes), not a place in the hierarchy
  const hierarchical = HIERARCHY_PROPERTIES.has(property) && op !== 'regex' && op !== 'exists';
  const test = hierarchical ? hierarchyFilter(cs, op, property, value) : propertyFilter(cs, op, property, value, where);
  if (!test) throw notSupported(`The filter operator '${op}' is not supported for property '${property}'`, where);
  return test;
}

function notSupported(message: string, where: string): FhirError {
  return new FhirError('invalid', { message, expression: where, code: 'not-supported' });
}

/** A filter on the hierarchy (`concept`, `code`, `parent`, `child`): `value` is the code it is relative to. */
function hierarchyFilter(cs: CodeSystemIndex, op: string, property: string, value: string): ConceptTest | undefined {
  const root = cs.get(value)?.code ?? value;
  switch (op) {
    case 'is-a':
      return (c) => cs.subsumes(root, c.code);
    case 'descendent-of':
      return (c) => c.code !== root && cs.subsumes(root, c.code);
    case 'is-not-a':
      return (c) => !cs.subsumes(root, c.code);
    case 'child-of':
      return (c) => c.parents.includes(root);
    case 'descendent-leaf':
      return (c) => c.code !== root && c.children.length === 0 && cs.subsumes(root, c.code);
    case 'generalizes':
      return (c) => cs.subsumes(c.code, root);
    case '=':
      return property === 'parent'
        ? (c) => c.parents.includes(root)
        : property === 'child'
          ? (c) => c.children.includes(root)
          : (c) => c.code === root;
    case 'in':
      return inList(value, (c) => [c.code]);
    case 'not-in': {
      const test = inList(value, (c) => [c.code]);
      return (c) => !test(c);
    }
    default:
      return undefined;
  }
}

/** A filter on the values of a concept property. */
function propertyFilter(
  cs: CodeSystemIndex,
  op: string,
  property: string,
  value: string,
  where: string,
): ConceptTest | undefined {
  const values = (c: Concept) => cs.propertyValues(c, property);
  switch (op) {
    case '=':
      return (c) => values(c).includes(value);
    case 'in':
      return inList(value, values);
    case 'not-in': {
      const test = inList(value, values);
      return (c) => !test(c);
    }
    case 'regex':
      return regexFilter(value, values, where);
    case 'exists':
      return existsFilter(value, values, where);
    default:
      return undefined;
  }
}

function regexFilter(value: string, values: (c: Concept) => string[], where: string): ConceptTest {
  // RE2 matches in linear time: a value set's pattern is user input, and a backtracking engine
  // would let one `(a+)+` stall the server (catastrophic backtracking)
  let re: RE2JS;
  try {
    re = RE2JS.compile(value);
  } catch {
    throw new FhirError('invalid', {
      message: `The regular expression '${value}' in filter ${where} is not valid`,
      expression: where,
    });
  }
  // the whole value must match, as XML Schema patterns do (which FHIR's regex follows)
  return (c) => values(c).some((v) => re.matches(v));
}

function existsFilter(value: string, values: (c: Concept) => string[], where: string): ConceptTest {
  if (value !== 'true' && value !== 'false')
    throw notSupported(`The 'exists' filter takes true or false, not '${value}'`, where);
  const want = value === 'true';
  return (c) => values(c).length > 0 === want;
}

function inList(value: string, values: (c: Concept) => string[]): ConceptTest {
  const set = new Set(value.split(',').map((s) => s.trim()));
  return (c) => values(c).some((v) => set.has(v));
}
