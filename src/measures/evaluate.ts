import type { CareTeam, PlanDefinition, Reference } from '@medplum/fhirtypes';
import type { Services } from '../fhir/services.js';
import { CARE_TEAM_ROLE } from '../pathways/plan.js';
import { dateOf, findAll } from '../pathways/search.js';
import { osloDate } from '../pathways/calendar.js';
import type { SqlExecutor } from '../storage/types.js';
import { splitCanonical } from '../terminology/versions.js';
import { CriteriaRunner } from './criteria.js';
import type { MeasureDef } from './definition.js';
import { evaluatePathway, type PathwayContext } from './pathway.js';
import type { MeasurementPeriod } from './period.js';
import { candidateIds, readPathways, type Needs, type PathwayData } from './source.js';
import { GroupTally } from './tally.js';

/** Pathways read from the database at once: a handful of queries per batch, a batch in memory. */
const BATCH = 500;

/** Which pathways are counted: the period's, narrowed to a patient, a unit or a coordinator. */
export interface Scope {
  period: MeasurementPeriod;
  patient?: string;
  unit?: string;
  practitioner?: string;
  /** Keep the CarePlans of each population (a subject-list report). */
  listed: boolean;
  /** An individual report's evaluated resources: those changed since (a date or dateTime). */
  evaluatedSince?: string;
}

export interface Evaluated {
  tallies: GroupTally[];
  /** The CarePlans and Tasks evaluated (individual reports). */
  evaluated: Reference[];
}

function expressionsOf(def: MeasureDef): string {
  const criteria = [
    ...def.variables.map((v) => v.criterion),
    ...def.groups.flatMap((g) => [
      ...g.populations.values(),
      ...g.stratifiers.flatMap((s) => s.parts.map((p) => p.criterion)),
    ]),
  ];
  return criteria.map((c) => c.expression).join('\n');
}

/** What a batch must read besides CarePlans and Tasks: what the criteria use or the scope filters by. */
function needsOf(def: MeasureDef, scope: Scope): Needs & { plan: boolean } {
  const text = expressionsOf(def);
  const uses = (name: string) => new RegExp(`%${name}\\b`).test(text);
  return {
    // the evaluated resources of an individual report are every Task of the pathway
    allTasks: uses('tasks') || !!scope.patient,
    episode: uses('episode') || !!scope.unit,
    careTeam: uses('careTeam') || !!scope.practitioner,
    referral: uses('referral'),
    plan: uses('plan'),
  };
}

const isCoordinator = (team: CareTeam | undefined, practitioner: string) =>
  (team?.participant ?? []).some(
    (p) =>
      p.member?.reference === `Practitioner/${practitioner}` &&
      p.role?.some((r) => r.coding?.some((c) => c.system === CARE_TEAM_ROLE && c.code === 'coordinator-specialist')),
  );

/** The pathway's period (Oslo dates) overlaps the measurement period: a pathway of the period. */
function overlaps(data: PathwayData, period: MeasurementPeriod): boolean {
  const start = dateOf(data.carePlan.period?.start);
  const end = dateOf(data.carePlan.period?.end);
  return (!start || start <= period.end) && (!end || end >= period.start);
}

function inScope(data: PathwayData, scope: Scope): boolean {
  if (!overlaps(data, scope.period)) return false;
  if (scope.unit && data.episode?.managingOrganization?.reference !== `Organization/${scope.unit}`) return false;
  return !scope.practitioner || isCoordinator(data.careTeam, scope.practitioner);
}

/** The PlanDefinitions pathways instantiate, read once each in the snapshot. */
function planLookup(
  svc: Services,
  db: SqlExecutor,
): (canonical: string | undefined) => Promise<PlanDefinition | undefined> {
  const cache = new Map<string, Promise<PlanDefinition | undefined>>();
  return (canonical) => {
    if (!canonical) return Promise.resolve(undefined);
    let hit = cache.get(canonical);
    if (!hit) {
      const [url, version] = splitCanonical(canonical);
      hit = findAll<PlanDefinition>(svc, 'PlanDefinition', new URLSearchParams({ url }).toString(), db).then((all) =>
        all.find((p) => p.url === url && (version === undefined || p.version === version)),
      );
      cache.set(canonical, hit);
    }
    return hit;
  };
}

/** Whether a resource changed since an individual report's `lastReceivedOn` (a date: that Oslo day on). */
function changedSince(r: { meta?: { lastUpdated?: string } }, since: string | undefined): boolean {
  if (!since) return true;
  const at = r.meta?.lastUpdated;
  if (!at) return true;
  return since.length <= 10 ? osloDate(new Date(at)) >= since : Date.parse(at) >= Date.parse(since);
}

function evaluatedOf(data: PathwayData, since: string | undefined): Reference[] {
  const resources: { resourceType: string; id?: string; meta?: { lastUpdated?: string } }[] = [
    data.carePlan,
    ...data.tasks,
  ];
  return resources.filter((r) => changedSince(r, since)).map((r) => ({ reference: `${r.resourceType}/${r.id}` }));
}

/**
 * Evaluates a Measure over the pathways in scope, read in `db` (one snapshot: the report sees no write
 * half done) a batch at a time: each pathway through the criteria, into each group's tally.
 */
export async function evaluateMeasure(
  svc: Services,
  db: SqlExecutor,
  def: MeasureDef,
  scope: Scope,
): Promise<Evaluated> {
  const runner = new CriteriaRunner(svc);
  await runner.prepare(svc, db, def, scope.period);
  const ctx: PathwayContext = { runner, def, period: scope.period };
  const needs = needsOf(def, scope);
  const planOf = planLookup(svc, db);
  const tallies = def.groups.map((g) => new GroupTally(g, scope.listed));
  const evaluated: Reference[] = [];
  const ids = await candidateIds(svc, db, scope.period, scope.patient);
  for (let i = 0; i < ids.length; i += BATCH) {
    for (const data of await readPathways(db, ids.slice(i, i + BATCH), needs)) {
      if (!inScope(data, scope)) continue;
      const plan = needs.plan ? await planOf(data.carePlan.instantiatesCanonical?.[0]) : undefined;
      evaluatePathway(ctx, data, plan).forEach((result, g) => tallies[g].add(result, data.carePlan.id as string));
      if (scope.patient) evaluated.push(...evaluatedOf(data, scope.evaluatedSince));
    }
  }
  return { tallies, evaluated };
}
