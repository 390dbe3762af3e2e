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
  const hierarchical = HIERARCHY_PROPERTIES.has(property) && op !== 'regex' && op !== 'exists';
  const bad = (message: string) => new FhirError('invalid', { message, expression: where, code: 'not-supported' });
  if (hierarchical) {
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
        throw bad(`The filter operator '${op}' is not supported for property '${property}'`);
    }
  }
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
    case 'regex': {
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
    case 'exists': {
      if (value !== 'true' && value !== 'false') throw bad(`The 'exists' filter takes true or false, not '${value}'`);
      const want = value === 'true';
      return (c) => values(c).length > 0 === want;
    }
    default:
      throw bad(`The filter operator '${op}' is not supported for property '${property}'`);
  }
}

function inList(value: string, values: (c: Concept) => string[]): ConceptTest {
  const set = new Set(value.split(',').map((s) => s.trim()));
  return (c) => values(c).some((v) => set.has(v));
}
