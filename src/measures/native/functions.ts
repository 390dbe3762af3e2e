import {
  addCalendarDays,
  addWorkingDays,
  calendarDaysBetween,
  isWorkingDay,
  osloDate,
  workingDaysBetween,
} from '../../pathways/calendar.js';
import type { Env, Node } from './env.js';
import { asBoolean, notNative, single, type Collection } from './values.js';

/** A function of the subset: its result on the input, given its compiled arguments. */
export type NativeFunction = (input: Collection, args: Node[], env: Env, focus: Collection) => Collection;

/** A value argument (not a criterion): fhirpath.js evaluates it on `$this` (the root outside criteria). */
const arg = (a: Node, env: Env): Collection => a.run(env.self, env);

function integerArg(a: Node, env: Env): number | undefined {
  const v = single(arg(a, env), 'an integer argument');
  if (v === undefined) return undefined;
  return typeof v === 'number' && Number.isInteger(v) ? v : notNative('not an integer');
}

/** A criterion on each item (`where`, `exists`): the items for which it is true. */
function filter(input: Collection, crit: Node, env: Env): Collection {
  return input.filter((x) => {
    const item = [x];
    return asBoolean(crit.run(item, { ...env, self: item })) === true;
  });
}

function inputString(input: Collection, what: string): string | undefined {
  const v = single(input, what);
  if (v === undefined) return undefined;
  return typeof v === 'string' ? v : notNative(`${what} of a ${typeof v}`);
}

function substring(input: Collection, args: Node[], env: Env): Collection {
  // fhirpath.js evaluates the arguments before it looks at the input
  const start = integerArg(args[0], env);
  const length = args[1] ? integerArg(args[1], env) : undefined;
  const s = inputString(input, 'substring');
  if (s === undefined || start === undefined) return [];
  if (start < 0 || start >= s.length) return [];
  return [length === undefined ? s.substring(start) : s.substring(start, start + length)];
}

function toInteger(input: Collection): Collection {
  const v = single(input, 'toInteger');
  if (v === undefined) return [];
  if (typeof v === 'boolean') return [v ? 1 : 0];
  if (typeof v === 'number') return Number.isInteger(v) ? [v] : [];
  if (typeof v === 'string') return /^[+-]?\d+$/.test(v) ? [parseInt(v, 10)] : [];
  return notNative('toInteger of an object');
}

function endsWith(input: Collection, args: Node[], env: Env): Collection {
  const suffix = single(arg(args[0], env), 'endsWith');
  const s = inputString(input, 'endsWith');
  if (suffix === undefined || s === undefined) return [];
  return typeof suffix === 'string' ? [s.endsWith(suffix)] : notNative('endsWith of a non-string');
}

/** `iif`: its criterion and branches read the input as `$this` (fhirpath.js's iif macro). */
function iif(input: Collection, args: Node[], env: Env): Collection {
  if (input.length > 1) notNative('iif on several items');
  const inner = { ...env, self: input };
  const yes = asBoolean(args[0].run(input, inner)) === true;
  if (yes) return args[1].run(input, inner);
  return args[2] ? args[2].run(input, inner) : [];
}

/** The deadline rules' date reading (src/pathways/rules.ts): a date as is, a dateTime as its Oslo date. */
function asDate(v: unknown): string {
  if (typeof v !== 'string') return notNative('a date that is not text');
  if (/^\d{4}-\d{2}-\d{2}$/.test(v)) return v;
  const t = Date.parse(v);
  return Number.isNaN(t) ? notNative('not a date') : osloDate(new Date(t));
}

/**
 * The deadline rules' calendar functions, on each input item as fhirpath.js runs them: the argument
 * read first (fhirpath.js evaluates it whatever the input), then the function on each item's date.
 */
const onDates =
  <A>(read: (args: Node[], env: Env) => A, f: (d: string, a: A) => unknown): NativeFunction =>
  (input, args, env) => {
    const a = read(args, env);
    return input.map((i) => f(asDate(i), a));
  };

const days = ([a]: Node[], env: Env): number => integerArg(a, env) ?? notNative('no number of days');
const toDate = ([a]: Node[], env: Env): string => {
  const c = arg(a, env);
  return c.length === 0 ? notNative('no date') : asDate(c[0]);
};
const none = () => undefined;

export const FUNCTIONS: Record<string, { arity: number[]; fn: NativeFunction; criteria?: boolean }> = {
  where: { arity: [1], criteria: true, fn: (input, [crit], env) => filter(input, crit, env) },
  exists: {
    arity: [0, 1],
    criteria: true,
    fn: (input, [crit], env) => [(crit ? filter(input, crit, env) : input).length > 0],
  },
  empty: { arity: [0], fn: (input) => [input.length === 0] },
  first: { arity: [0], fn: (input) => input.slice(0, 1) },
  substring: { arity: [1, 2], fn: substring },
  toInteger: { arity: [0], fn: toInteger },
  endsWith: { arity: [1], fn: endsWith },
  iif: { arity: [2, 3], criteria: true, fn: iif },
  addCalendarDays: { arity: [1], fn: onDates(days, addCalendarDays) },
  addWorkingDays: { arity: [1], fn: onDates(days, addWorkingDays) },
  calendarDaysUntil: { arity: [1], fn: onDates(toDate, calendarDaysBetween) },
  workingDaysUntil: { arity: [1], fn: onDates(toDate, workingDaysBetween) },
  isWorkingDay: { arity: [0], fn: onDates(none, (d) => isWorkingDay(d)) },
};

/** Functions whose every result is a plain boolean. */
export const BOOLEAN_FUNCTIONS = new Set(['exists', 'empty', 'endsWith', 'isWorkingDay']);
/** Functions whose results are their input's items (as typed as those). */
export const SAME_ITEMS = new Set(['where', 'first']);
