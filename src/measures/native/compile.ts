import { parse } from 'fhirpath';
import type { Env, Eval, Node } from './env.js';
import { BOOLEAN_FUNCTIONS, FUNCTIONS, SAME_ITEMS } from './functions.js';
import { arraify, member, notNative, type Collection } from './values.js';
import { binary } from './operators.js';

/** fhirpath.js's parse tree (the part read here). */
export interface Ast {
  type: string;
  text?: string;
  delimitedText?: string;
  children?: Ast[];
}

/** Outside the subset: the expression is left to fhirpath.js whole. */
class Unsupported extends Error {}

const unsupported = (what: string): never => {
  throw new Unsupported(what);
};

/** fhirpath.js's own variables: read from its context, not the caller's (left to it). */
const BUILT_IN = new Set(['context', 'resource', 'rootResource', 'ucum', 'factory', 'terminologies', 'sct', 'loinc']);

const child = (n: Ast, i = 0): Ast => n.children?.[i] ?? unsupported(`${n.type} without child ${i}`);

function variable(n: Ast): Node {
  const id = child(child(n));
  const name = id.text ?? '';
  if (n.delimitedText !== undefined || id.type !== 'Identifier' || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(name))
    unsupported('a delimited variable');
  if (BUILT_IN.has(name)) unsupported(`%${name}`);
  const run: Eval = (_focus, env) => {
    if (name in env.vars) return arraify(env.vars[name]);
    // fhirpath.js reports an unknown variable: its error, not ours
    return name === 'now' ? [env.today] : notNative(`%${name}`);
  };
  return { run, typed: false, boolean: false };
}

function literal(n: Ast): Node {
  const lit = child(n);
  const text = lit.text ?? '';
  let value: unknown;
  if (lit.type === 'StringLiteral' && /^'[^'\\]*'$/.test(text)) value = text.slice(1, -1);
  else if (lit.type === 'NumberLiteral' && /^\d{1,9}$/.test(text)) value = Number(text);
  else if (lit.type === 'BooleanLiteral' && (text === 'true' || text === 'false')) value = text === 'true';
  else unsupported(`the literal ${text}`);
  return { run: () => [value], typed: false, boolean: typeof value === 'boolean' };
}

/** `name` on the focus: a lower-case element name (an upper-case one may be a type in fhirpath.js). */
function memberNode(n: Ast): Node {
  const id = child(n);
  const name = id.text ?? '';
  if (!/^[a-z][A-Za-z0-9]*$/.test(name)) unsupported(`the member ${name}`);
  return { run: (focus) => member(focus, name), typed: true, boolean: false };
}

function functionNode(n: Ast, inputTyped: boolean): Node {
  const fn = child(n);
  const name = child(fn).text ?? '';
  const args = (fn.children?.[1]?.children ?? []).map(compileNode);
  const def = FUNCTIONS[name] ?? unsupported(`${name}()`);
  if (!def.arity.includes(args.length)) unsupported(`${name}() with ${args.length} arguments`);
  // fhirpath.js keeps an item of `where` when its criterion's first result is truthy: a plain boolean only
  if ((name === 'where' || name === 'exists') && args[0] && !args[0].boolean) unsupported(`${name} criterion`);
  const run: Eval = (focus, env) => def.fn(focus, args, env, focus);
  const boolean = BOOLEAN_FUNCTIONS.has(name);
  const typed = SAME_ITEMS.has(name) ? inputTyped : name === 'iif' && (args[1].typed || !!args[2]?.typed);
  return { run, typed, boolean: boolean || (name === 'iif' && args[1].boolean && (args[2]?.boolean ?? true)) };
}

/** A term or an invocation on the focus (`a.b.c()` is the invocation of `c()` on `a.b`). */
function invocation(n: Ast, inputTyped = false): Node {
  switch (n.type) {
    case 'MemberInvocation':
      return memberNode(n);
    case 'FunctionInvocation':
      return functionNode(n, inputTyped);
    case 'ThisInvocation':
      return { run: (_focus, env) => env.self, typed: true, boolean: false };
    default:
      return unsupported(n.type);
  }
}

function chain(n: Ast): Node {
  const from = compileNode(child(n, 0));
  const step = invocation(child(n, 1), from.typed);
  return { ...step, run: (focus, env) => step.run(from.run(focus, env), env) };
}

function compileNode(n: Ast): Node {
  switch (n.type) {
    case 'EntireExpression':
    case 'TermExpression':
    case 'ParenthesizedTerm':
      if (n.children?.length !== 1) unsupported(`${n.type} of ${n.children?.length}`);
      return compileNode(child(n));
    case 'InvocationTerm':
      return invocation(child(n));
    case 'InvocationExpression':
      return chain(n);
    case 'ExternalConstantTerm':
      return variable(n);
    case 'LiteralTerm':
      return literal(n);
    case 'AndExpression':
    case 'OrExpression':
    case 'EqualityExpression':
    case 'InequalityExpression':
    case 'AdditiveExpression':
      return binary(n.text ?? '', compileNode(child(n, 0)), compileNode(child(n, 1)), unsupported);
    default:
      return unsupported(n.type);
  }
}

/** A native expression: its result on a root resource, given the variables and today's date. */
export type NativeExpression = (root: unknown, vars: Record<string, unknown>, today: string) => Collection;

/**
 * The expression compiled to JavaScript when every part of it is in the subset the shipped Measures
 * use (paths, `where`, `exists`, `empty`, `first`, `iif`, `substring`, `toInteger`, `endsWith`,
 * `and`, `or`, `=`, `!=`, `<`, `<=`, `>`, `>=`, `+`, the calendar functions, literals, `%variables`,
 * `$this`), else undefined: fhirpath.js runs it.
 */
export function compileNative(expression: string): NativeExpression | undefined {
  let node: Node;
  try {
    node = compileNode(parse(expression) as Ast);
  } catch (err) {
    if (err instanceof Unsupported) return undefined;
    // what fhirpath.js cannot parse, it reports itself
    return undefined;
  }
  return (root, vars, today) => {
    const focus = arraify(root);
    const env: Env = { vars, self: focus, root: focus, today };
    return node.run(focus, env);
  };
}
