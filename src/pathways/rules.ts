import { compile } from 'fhirpath';
import r4Model from 'fhirpath/fhir-context/r4';
import type { Clock } from '../fhir/clock.js';
import { FhirError } from '../fhir/errors.js';
import type { NprRule } from './plan.js';
import {
  addCalendarDays,
  addWorkingDays,
  calendarDaysBetween,
  isWorkingDay,
  osloDate,
  workingDaysBetween,
} from './calendar.js';

/**
 * Pathway time limits are FHIRPath expressions stored in the PlanDefinitions (never in code), run
 * with fhirpath.js. A rule sees `%now` (today's Oslo date, from the injected clock — never the wall
 * clock, so tests set time) and any variables its caller gives (`%from`: the date a limit counts
 * from), and these functions on dates (Oslo calendar, `YYYY-MM-DD`; a dateTime is read as its Oslo
 * date):
 *
 *   addCalendarDays(n)  addWorkingDays(n)  calendarDaysUntil(to)  workingDaysUntil(to)  isWorkingDay()
 *
 * e.g. `%from.addCalendarDays(21)` or `%from.addWorkingDays(10)`.
 */
type Fn = (inputs: unknown[], ...args: unknown[]) => unknown[];

/** A FHIRPath date or dateTime value (string, or fhirpath.js's FP types) as an Oslo calendar date. */
function asDate(value: unknown): string {
  const s = String(value);
  if (/^\d{4}-\d{2}-\d{2}$/.test(s)) return s;
  const t = Date.parse(s);
  if (Number.isNaN(t)) throw new RangeError(`Not a date: '${s}'`);
  return osloDate(new Date(t));
}

const onDates =
  (f: (date: string, ...args: never[]) => unknown): Fn =>
  (inputs, ...args) =>
    inputs.map((i) => f(asDate(i), ...(args as never[])));

const FUNCTIONS: Record<string, { fn: Fn; arity: Record<number, string[]> }> = {
  addCalendarDays: { fn: onDates((d, n: number) => addCalendarDays(d, n)), arity: { 1: ['Integer'] } },
  addWorkingDays: { fn: onDates((d, n: number) => addWorkingDays(d, n)), arity: { 1: ['Integer'] } },
  calendarDaysUntil: {
    fn: onDates((d, to: unknown) => calendarDaysBetween(d, asDate(single(to)))),
    arity: { 1: ['Any'] },
  },
  workingDaysUntil: {
    fn: onDates((d, to: unknown) => workingDaysBetween(d, asDate(single(to)))),
    arity: { 1: ['Any'] },
  },
  isWorkingDay: { fn: onDates((d) => isWorkingDay(d)), arity: { 0: [] } },
};

function single(v: unknown): unknown {
  return Array.isArray(v) ? v[0] : v;
}

type Compiled = (resource: unknown, env?: Record<string, unknown>) => unknown[];

/** Compiled rules by expression text: pure functions, shared by every evaluator in the process. */
const compiled = new Map<string, Compiled>();

/** Runs deadline rules against one clock (so `%now` is the injected time). */
export class DeadlineRules {
  constructor(private readonly clock: Clock) {}

  now(): Date {
    return this.clock.now();
  }

  /** Evaluates a rule on a resource (a CarePlan, a Task …) with variables; the result as plain values. */
  evaluate(expression: string, resource: unknown, variables: Record<string, unknown> = {}): unknown[] {
    let fn = compiled.get(expression);
    if (!fn) {
      fn = compile(expression, r4Model, { userInvocationTable: FUNCTIONS as never }) as unknown as Compiled;
      compiled.set(expression, fn);
    }
    // compiled functions resolve fhirpath.js's internal types: dates come back as strings
    return fn(resource ?? {}, { now: osloDate(this.clock.now()), ...variables });
  }

  /** A rule that yields one date (a due date), or an error saying what it yielded instead. */
  date(expression: string, resource: unknown, variables: Record<string, unknown> = {}): string {
    const out = this.evaluate(expression, resource, variables);
    if (out.length !== 1) throw new RangeError(`The rule '${expression}' gave ${out.length} values, not one date`);
    return asDate(out[0]);
  }
}

/**
 * Checks a pathway's NPR rules: the first that does not hold refuses the write (422) with its NPR
 * feedback code (Volven 9329) in the details, at `expression`.
 */
export function enforceNprRules(
  rules: DeadlineRules,
  list: NprRule[],
  resource: unknown,
  variables: Record<string, unknown>,
  expression: string,
): void {
  for (const rule of list) {
    if (rules.evaluate(rule.expression, resource, variables)[0] !== false) continue;
    throw new FhirError('unprocessable', {
      message: `NPR ${rule.code.code}: ${rule.code.display ?? ''}`.trim(),
      code: 'business-rule',
      details: { coding: [rule.code], text: rule.code.display },
      expression,
    });
  }
}
