import type { Node } from './env.js';
import { asBoolean, comparable, DATE_LIKE, notNative, type Collection } from './values.js';

/** Both sides singletons (fhirpath.js compares lists item by item: left to it), or either empty. */
function pair(a: Collection, b: Collection): [unknown, unknown] | undefined {
  if (a.length === 0 || b.length === 0) return undefined;
  if (a.length > 1 || b.length > 1) notNative('a list operand');
  return [a[0], b[0]];
}

/**
 * Two values compared. A date-like text from a resource is a date or dateTime in fhirpath.js (its
 * precision and zone count), one from a variable or a function is text: only two full dates, or two
 * texts neither from a resource, compare as the JavaScript strings do.
 */
function check(a: unknown, b: unknown, left: Node, right: Node, ordered: boolean): void {
  if (typeof a === 'string' && typeof b === 'string') {
    if (!left.typed && !right.typed) return;
    // a date element against a text: fhirpath.js may read the text as a date, or not
    if (left.typed !== right.typed && (DATE_LIKE.test(a) || DATE_LIKE.test(b))) notNative('a date and a text');
  }
  comparable(a, b, ordered);
}

const and = (a?: boolean, b?: boolean): boolean | undefined =>
  a === false || b === false ? false : a === undefined || b === undefined ? undefined : true;
const or = (a?: boolean, b?: boolean): boolean | undefined =>
  a === true || b === true ? true : a === undefined || b === undefined ? undefined : false;

const ORDER: Record<string, (a: never, b: never) => boolean> = {
  '<': (a, b) => a < b,
  '<=': (a, b) => a <= b,
  '>': (a, b) => a > b,
  '>=': (a, b) => a >= b,
};

/** A binary operator of the subset over its compiled sides (both evaluated, as fhirpath.js does). */
export function binary(op: string, left: Node, right: Node, unsupported: (what: string) => never): Node {
  const sides = (focus: Collection, env: Parameters<Node['run']>[1]) => [left.run(focus, env), right.run(focus, env)];
  if (op === 'and' || op === 'or') {
    const f = op === 'and' ? and : or;
    return {
      run: (focus, env) => {
        const [a, b] = sides(focus, env);
        const r = f(asBoolean(a), asBoolean(b));
        return r === undefined ? [] : [r];
      },
      typed: false,
      boolean: true,
    };
  }
  if (op === '=' || op === '!=' || op in ORDER) {
    const ordered = op in ORDER;
    return {
      run: (focus, env) => {
        const [a, b] = sides(focus, env);
        const p = pair(a, b);
        if (!p) return [];
        check(p[0], p[1], left, right, ordered);
        if (ordered) return [ORDER[op](p[0] as never, p[1] as never)];
        return [(p[0] === p[1]) === (op === '=')];
      },
      typed: false,
      boolean: true,
    };
  }
  if (op === '+') {
    return {
      run: (focus, env) => {
        const [a, b] = sides(focus, env);
        const p = pair(a, b);
        if (!p) return [];
        const [x, y] = p;
        if (typeof x === 'string' && typeof y === 'string' && !left.typed && !right.typed) return [x + y];
        if (typeof x === 'number' && typeof y === 'number' && Number.isInteger(x) && Number.isInteger(y)) return [x + y];
        return notNative('+ of these values');
      },
      typed: false,
      boolean: false,
    };
  }
  return unsupported(`the operator ${op}`);
}
