import type { CodeableConcept, PlanDefinition } from '@medplum/fhirtypes';
import { contextOf } from '../pathways/state.js';
import { DATA_ABSENT } from './constants.js';
import type { CriteriaRunner } from './criteria.js';
import type { Criterion, GroupDef, MeasureDef, PopulationCode, StratifierDef } from './definition.js';
import type { MeasurementPeriod } from './period.js';
import type { PathwayData } from './source.js';

/** Where one pathway stands in one stratifier: the stratum's key, and its value (or components). */
export interface StratumPlace {
  key: string;
  value?: CodeableConcept;
  components?: { code: CodeableConcept; value: CodeableConcept }[];
}

/** One pathway in one group: the populations it belongs to, its observation, its strata. */
export interface GroupResult {
  members: Set<PopulationCode>;
  observation?: number;
  strata: StratumPlace[];
}

/** How a pathway is run: the runner and what stays the same through the evaluation. */
export interface PathwayContext {
  runner: CriteriaRunner;
  def: MeasureDef;
  period: MeasurementPeriod;
}

/**
 * The variables a pathway's criteria read (docs/measures.md): its Tasks (and the completed ones), PlanDefinition,
 * EpisodeOfCare, CareTeam and referral, the measurement period (Oslo dates), the care setting and
 * severity (as the time limits read them), then the Measure's own variables in their order, each
 * seeing those before it. A resource not there is the empty collection.
 */
export function variablesOf(
  ctx: PathwayContext,
  data: PathwayData,
  plan: PlanDefinition | undefined,
): Record<string, unknown> {
  const context = contextOf(data.carePlan);
  const vars: Record<string, unknown> = {
    // every milestone when a criterion reads %tasks (else only the completed ones were read)
    tasks: data.tasks,
    // the completed milestones: most criteria look only at these, and a short list is read faster
    done: data.tasks.filter((t) => t.status === 'completed'),
    plan: plan ?? [],
    episode: data.episode ?? [],
    careTeam: data.careTeam ?? [],
    referral: data.referral ?? [],
    periodStart: ctx.period.start,
    periodEnd: ctx.period.end,
    setting: context.setting ?? [],
    severity: context.severity ?? [],
  };
  for (const v of ctx.def.variables) vars[v.name] = ctx.runner.values(v.criterion, data.carePlan, vars, true);
  return vars;
}

/**
 * The populations of one group the pathway belongs to (R4 §15.12.3 and the cqfmeasures semantics):
 * each population is evaluated only for the members of the one it narrows. Proportion: the
 * denominator within the initial population; a denominator exclusion leaves it out of the numerator;
 * a denominator exception counts only for those neither excluded nor in the numerator. Ratio: the
 * numerator and denominator are each within the initial population. Continuous variable: the
 * observation of each measure-population member not excluded.
 */
function membersOf(
  ctx: PathwayContext,
  group: GroupDef,
  data: PathwayData,
  vars: Record<string, unknown>,
): GroupResult {
  const members = new Set<PopulationCode>();
  const criterion = (code: PopulationCode) => group.populations.get(code);
  const test = (code: PopulationCode) => {
    const c = criterion(code);
    const yes = c !== undefined && ctx.runner.member(c, data.carePlan, vars);
    if (yes) members.add(code);
    return yes;
  };
  if (!test('initial-population')) return { members, strata: [] };
  if (group.scoring === 'proportion' && test('denominator') && !test('denominator-exclusion')) {
    if (test('numerator')) test('numerator-exclusion');
    else test('denominator-exception');
  }
  if (group.scoring === 'ratio') {
    if (test('denominator')) test('denominator-exclusion');
    if (test('numerator')) test('numerator-exclusion');
  }
  let observation: number | undefined;
  if (group.scoring === 'continuous-variable' && test('measure-population') && !test('measure-population-exclusion')) {
    observation = observationOf(ctx, criterion('measure-observation') as Criterion, data, vars);
    if (observation !== undefined) members.add('measure-observation');
  }
  return { members, observation, strata: group.stratifiers.map((s) => placeOf(ctx, s, data, vars)) };
}

function observationOf(
  ctx: PathwayContext,
  c: Criterion,
  data: PathwayData,
  vars: Record<string, unknown>,
): number | undefined {
  const v = ctx.runner.single(c, data.carePlan, vars);
  if (v === undefined) return undefined;
  const n = typeof v === 'number' ? v : Number.NaN;
  if (!Number.isFinite(n)) throw ctx.runner.notNumber(c, data.carePlan, v);
  return n;
}

/** A stratifier's result as a stratum value: text for plain values, the coding for a Coding. */
export function stratumValue(v: unknown): { key: string; value: CodeableConcept } {
  if (v === undefined || v === null || v === '') {
    return {
      key: '~unknown',
      value: { coding: [{ system: DATA_ABSENT, code: 'unknown', display: 'Unknown' }], text: 'unknown' },
    };
  }
  if (typeof v !== 'object') return { key: String(v), value: { text: String(v) } };
  const o = v as {
    coding?: { system?: string; code?: string }[];
    system?: string;
    code?: string;
    reference?: string;
    text?: string;
  };
  if (o.coding?.length)
    return { key: o.coding.map((c) => `${c.system}|${c.code}`).join(','), value: v as CodeableConcept };
  if (o.code !== undefined) return { key: `${o.system}|${o.code}`, value: { coding: [v as never] } };
  const text = o.reference ?? o.text ?? JSON.stringify(v);
  return { key: text, value: { text } };
}

function placeOf(
  ctx: PathwayContext,
  s: StratifierDef,
  data: PathwayData,
  vars: Record<string, unknown>,
): StratumPlace {
  const values = s.parts.map((p) => stratumValue(ctx.runner.single(p.criterion, data.carePlan, vars)));
  if (!s.components) return values[0];
  const components = values.map((v, k) => ({
    code: s.parts[k].code ?? { text: `component ${k + 1}` },
    value: v.value,
  }));
  return { key: JSON.stringify(values.map((v) => v.key)), components };
}

/** One pathway through every group of the Measure. */
export function evaluatePathway(
  ctx: PathwayContext,
  data: PathwayData,
  plan: PlanDefinition | undefined,
): GroupResult[] {
  const vars = variablesOf(ctx, data, plan);
  return ctx.def.groups.map((group) => membersOf(ctx, group, data, vars));
}
