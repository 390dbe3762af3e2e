import { FhirError } from '../fhir/errors.js';
import { matchingIds } from '../fhir/search/batch-reads.js';
import type { Services } from '../fhir/services.js';
import { osloDate } from '../pathways/calendar.js';
import { DeadlineRules } from '../pathways/rules.js';
import type { SqlExecutor } from '../storage/types.js';
import { fhirpathMessage, type Criterion, type MeasureDef } from './definition.js';
import { nativeExpression, untypedObjects } from './native/index.js';
import type { MeasurementPeriod } from './period.js';

/** `{{%periodStart}}` and `{{%periodEnd}}`: the embedded FHIRPath an x-fhir-query may hold here. */
const EMBEDDED = /\{\{\s*([^}]*?)\s*\}\}/g;

function unprocessable(message: string, expression: string): FhirError {
  return new FhirError('unprocessable', { message, code: 'processing', expression });
}

/**
 * Runs a Measure's criteria. FHIRPath goes through the deadline rules' evaluator (fhirpath.js with
 * the R4 model and the Oslo calendar and working-day functions: `addCalendarDays`,
 * `addWorkingDays`, `calendarDaysUntil`, `workingDaysUntil`, `isWorkingDay`), with the pathway's
 * CarePlan as the focus and its resources as variables. A population given as a FHIR query
 * (`application/x-fhir-query`, on CarePlan) is run once over the snapshot: its members are the
 * CarePlans it matches. An expression that fails on a pathway is the Measure's error (422, naming
 * the element and the CarePlan), never a 500.
 */
export class CriteriaRunner {
  private readonly rules: DeadlineRules;
  private readonly queries = new Map<string, Set<string>>();
  /** `%now` for the native path: today in Oslo when the evaluation starts. */
  private readonly today: string;

  /** Only the clock is read: the evaluation worker builds one from the evaluation's time. */
  constructor(svc: Pick<Services, 'clock'>) {
    this.rules = new DeadlineRules(svc.clock);
    this.today = osloDate(svc.clock.now());
  }

  /** The FHIR-query populations' members, for the evaluation worker (which has no database). */
  queryMembers(): [path: string, ids: string[]][] {
    return [...this.queries].map(([path, ids]) => [path, [...ids]]);
  }

  /** The FHIR-query populations' members as `prepare` found them in the main thread. */
  useQueryMembers(members: [path: string, ids: string[]][]): void {
    for (const [path, ids] of members) this.queries.set(path, new Set(ids));
  }

  /** Runs the Measure's FHIR-query populations over the snapshot, once per evaluation. */
  async prepare(svc: Services, db: SqlExecutor, def: MeasureDef, period: MeasurementPeriod): Promise<void> {
    for (const group of def.groups) {
      for (const c of group.populations.values()) {
        if (c.language === 'application/x-fhir-query' && !this.queries.has(c.path))
          this.queries.set(c.path, await runQuery(svc, db, c, period));
      }
    }
  }

  /**
   * A FHIRPath criterion's result on one pathway, as plain values: natively when the expression is in
   * the subset that has a native form (src/measures/native, proven equal to fhirpath.js by
   * test/measures/native.test.ts) and the values are plain enough, else — and on any doubt, error
   * included — by fhirpath.js. A variable's objects must carry fhirpath.js's types (`variable`).
   */
  values(c: Criterion, carePlan: { id?: string }, variables: Record<string, unknown>, variable = false): unknown[] {
    const native = nativeExpression(c.expression);
    if (native) {
      try {
        const out = native(carePlan, variables, this.today);
        if (!variable || !untypedObjects(out)) return out;
      } catch {
        // NotNative, or anything else: fhirpath.js decides, and reports its own errors
      }
    }
    return this.fhirpath(c, carePlan, variables);
  }

  private fhirpath(c: Criterion, carePlan: { id?: string }, variables: Record<string, unknown>): unknown[] {
    try {
      return this.rules.evaluate(c.expression, carePlan, variables);
    } catch (err) {
      throw unprocessable(
        `${c.path}.expression failed on CarePlan/${carePlan.id}: ${fhirpathMessage(err)}`,
        `${c.path}.expression`,
      );
    }
  }

  /** Whether a pathway belongs to a population: its criterion is true (empty and false are not). */
  member(c: Criterion, carePlan: { id?: string }, variables: Record<string, unknown>): boolean {
    if (c.language === 'application/x-fhir-query') return this.queries.get(c.path)?.has(carePlan.id as string) ?? false;
    const out = this.values(c, carePlan, variables);
    if (out.length === 0 || (out.length === 1 && out[0] === false)) return false;
    if (out.length === 1 && out[0] === true) return true;
    throw unprocessable(
      `${c.path}.expression gave ${JSON.stringify(out).slice(0, 200)} on CarePlan/${carePlan.id}, not a boolean`,
      `${c.path}.expression`,
    );
  }

  /** At most one value (a stratum's value, an observation), or the Measure's error. */
  single(c: Criterion, carePlan: { id?: string }, variables: Record<string, unknown>): unknown {
    const out = this.values(c, carePlan, variables);
    if (out.length > 1)
      throw unprocessable(
        `${c.path}.expression gave ${out.length} values on CarePlan/${carePlan.id}, not one`,
        `${c.path}.expression`,
      );
    return out[0];
  }

  /** An observation that is not a number: the Measure's error. */
  notNumber(c: Criterion, carePlan: { id?: string }, value: unknown): FhirError {
    const what = JSON.stringify(value).slice(0, 200);
    return unprocessable(
      `${c.path}.expression gave ${what} on CarePlan/${carePlan.id}, not a number`,
      `${c.path}.expression`,
    );
  }
}

/** The ids of the CarePlans a FHIR query matches (`CarePlan?…` or just its parameters). */
async function runQuery(svc: Services, db: SqlExecutor, c: Criterion, period: MeasurementPeriod): Promise<Set<string>> {
  const at = `${c.path}.expression`;
  const text = c.expression.trim();
  const q = text.indexOf('?');
  const type = q < 0 ? (text.includes('=') ? 'CarePlan' : text) : text.slice(0, q) || 'CarePlan';
  if (type !== 'CarePlan')
    throw unprocessable(`${at}: a FHIR query here selects CarePlans (the population basis), not ${type}`, at);
  const filled = (q < 0 ? (text.includes('=') ? text : '') : text.slice(q + 1)).replace(
    EMBEDDED,
    (_m, inner: string) => {
      if (inner === '%periodStart') return period.start;
      if (inner === '%periodEnd') return period.end;
      throw unprocessable(`${at}: only {{%periodStart}} and {{%periodEnd}} may be embedded, not {{${inner}}}`, at);
    },
  );
  try {
    return new Set(await matchingIds(svc, 'CarePlan', [...new URLSearchParams(filled)], db));
  } catch (err) {
    if (err instanceof FhirError && err.category === 'invalid') throw unprocessable(`${at}: ${err.message}`, at);
    throw err;
  }
}
