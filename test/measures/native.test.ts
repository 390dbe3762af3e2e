import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Measure } from '@medplum/fhirtypes';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/fhir/clock.js';
import type { Services } from '../../src/fhir/services.js';
import { CriteriaRunner } from '../../src/measures/criteria.js';
import { readMeasure, type Criterion, type MeasureDef } from '../../src/measures/definition.js';
import { MEASURES_DIR } from '../../src/measures/loader.js';
import { compileNative } from '../../src/measures/native/compile.js';
import { variablesOf } from '../../src/measures/pathway.js';
import type { PathwayData } from '../../src/measures/source.js';
import { osloDate } from '../../src/pathways/calendar.js';
import { DeadlineRules } from '../../src/pathways/rules.js';
import { contextOf } from '../../src/pathways/state.js';
import { pathwayCase, PROBES, random } from './native-cases.js';

const clock = new ManualClock(new Date('2026-05-04T08:00:00Z'));
const rules = new DeadlineRules(clock);
const today = osloDate(clock.now());
const PERIODS = [
  { start: '2026-01-01', end: '2026-12-31' },
  { start: '2026-03-01', end: '2026-04-30' },
];
const CASES = Array.from({ length: 300 }, (_, k) => pathwayCase(random(17_000 + k), k));
const SHIPPED: MeasureDef[] = readdirSync(MEASURES_DIR)
  .filter((f) => f.endsWith('.json'))
  .map((f) => readMeasure(JSON.parse(readFileSync(join(MEASURES_DIR, f), 'utf8')) as Measure));

/** The FHIRPath criteria of a Measure's groups: populations, stratifiers and their components. */
const criteriaOf = (def: MeasureDef): Criterion[] =>
  def.groups
    .flatMap((g) => [...g.populations.values(), ...g.stratifiers.flatMap((s) => s.parts.map((p) => p.criterion))])
    .filter((c) => c.language === 'text/fhirpath');

/** What fhirpath.js gives (the reference): its values, or that it failed. */
type Outcome = { ok: boolean; out: unknown[] };

function reference(expression: string, data: PathwayData, vars: Record<string, unknown>): Outcome {
  try {
    return { ok: true, out: rules.evaluate(expression, data.carePlan, vars) };
  } catch {
    return { ok: false, out: [] };
  }
}

/** The variables as the evaluation gives them, each of the Measure's computed by fhirpath.js alone. */
function referenceVariables(def: MeasureDef, data: PathwayData, period: { start: string; end: string }) {
  const context = contextOf(data.carePlan);
  const vars: Record<string, unknown> = {
    tasks: data.tasks,
    done: data.tasks.filter((t) => t.status === 'completed'),
    plan: [],
    episode: data.episode ?? [],
    careTeam: [],
    referral: data.referral ?? [],
    periodStart: period.start,
    periodEnd: period.end,
    setting: context.setting ?? [],
    severity: context.severity ?? [],
  };
  for (const v of def.variables) vars[v.name] = rules.evaluate(v.criterion.expression, data.carePlan, vars);
  return vars;
}

/**
 * Compares the native form of an expression with fhirpath.js on one pathway: the same values, or
 * the native path declines (it throws, and fhirpath.js runs). It never gives a value where fhirpath.js
 * fails. Returns whether the native path decided, and fhirpath.js's outcome.
 */
function compare(expression: string, data: PathwayData, vars: Record<string, unknown>): [boolean, Outcome] {
  const ref = reference(expression, data, vars);
  const native = compileNative(expression);
  if (!native) return [false, ref];
  let out: unknown[];
  try {
    out = native(data.carePlan, vars, today);
  } catch {
    return [false, ref];
  }
  expect(ref.ok, `${expression} on ${JSON.stringify(data)}: fhirpath.js failed, native gave ${JSON.stringify(out)}`).toBe(true);
  expect(out, `${expression} on ${JSON.stringify(data)}`).toEqual(ref.out);
  return [true, ref];
}

describe('native FHIRPath for the Measures, against fhirpath.js', () => {
  it('gives a native form to every FHIRPath expression of the shipped Measures', () => {
    for (const def of SHIPPED)
      for (const c of [...def.variables.map((v) => v.criterion), ...criteriaOf(def)])
        expect(compileNative(c.expression), c.expression).toBeDefined();
  });

  // one test per Measure: each is a few seconds of fhirpath.js on a quiet machine
  it.each(SHIPPED.map((def) => [def.measure.id, def] as const))(
    'gives what fhirpath.js gives for every criterion of %s, on 300 pathways and two periods',
    (_id, def) => {
      let decided = 0;
      let total = 0;
      const runner = new CriteriaRunner({ clock } as unknown as Services);
      for (const period of PERIODS) {
        for (const data of CASES) {
          const vars = referenceVariables(def, data, period);
          // the variables as the runner computes them (natively where it can) equal fhirpath.js's
          const ran = variablesOf({ runner, def, period }, data, undefined);
          for (const v of def.variables) expect(ran[v.name], v.criterion.expression).toEqual(vars[v.name]);
          for (const c of criteriaOf(def)) {
            const [native, ref] = compare(c.expression, data, vars);
            if (!ref.ok) continue;
            total++;
            if (native) decided++;
            expect(runner.values(c, data.carePlan, ran)).toEqual(ref.out);
          }
        }
      }
      // the fast path is the one taken where fhirpath.js gives a value: it declines only where
      // fhirpath.js reads types it does not (a Task's output.value, a choice element: a few percent)
      expect(decided / total).toBeGreaterThan(0.9);
    },
  );

  it('gives what fhirpath.js gives, or declines, at the edges of the subset', () => {
    const def = SHIPPED.find((d) => d.variables.some((v) => v.name === 'due')) as MeasureDef;
    const decided = new Map<string, number>();
    for (const period of PERIODS)
      for (const data of CASES) {
        const vars = referenceVariables(def, data, period);
        for (const p of PROBES) if (compare(p, data, vars)[0]) decided.set(p, (decided.get(p) ?? 0) + 1);
      }
    // what needs fhirpath.js's types or its errors is left to it
    for (const p of ['%tasks.count()', '%unitx', "period.start > '2026-03-01'", '%done.where(status)'])
      expect(decided.get(p) ?? 0, p).toBe(0);
    // and the rest is mostly decided natively
    expect(decided.get("iif(%setting = 'AMB', 7, 28)")).toBe(CASES.length * PERIODS.length);
    expect(decided.get('%eventDate >= %periodStart') ?? 0).toBeGreaterThan(100);
  });
});
