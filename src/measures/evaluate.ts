import type { PlanDefinition, Reference } from '@medplum/fhirtypes';
import type { Services } from '../fhir/services.js';
import { findAll } from '../pathways/search.js';
import { osloDate } from '../pathways/calendar.js';
import type { SqlExecutor } from '../storage/types.js';
import { splitCanonical } from '../terminology/versions.js';
import { CriteriaRunner } from './criteria.js';
import type { MeasureDef } from './definition.js';
import { evaluatePathway, type PathwayContext } from './pathway.js';
import { fromWire, parallel, WorkerEvaluation } from './parallel.js';
import { readRawPathways } from './raw.js';
import { candidateIds, readPathways, type Needs, type PathwayData } from './source.js';
import { inScope, type Scope } from './scope.js';
import { GroupTally } from './tally.js';

export type { Scope } from './scope.js';

/** Pathways read from the database at once: a handful of queries per batch, a batch in memory. */
const BATCH = 500;

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

/** What stays the same through one evaluation's batches. */
interface Run {
  svc: Services;
  db: SqlExecutor;
  def: MeasureDef;
  scope: Scope;
  runner: CriteriaRunner;
  needs: Needs & { plan: boolean };
  tallies: GroupTally[];
}

/** Each pathway read, parsed and evaluated here, a batch at a time. */
async function inThread(run: Run, ids: string[]): Promise<Reference[]> {
  const { db, def, scope, runner, needs, tallies } = run;
  const ctx: PathwayContext = { runner, def, period: scope.period };
  const planOf = planLookup(run.svc, db);
  const evaluated: Reference[] = [];
  for (let i = 0; i < ids.length; i += BATCH) {
    for (const data of await readPathways(db, ids.slice(i, i + BATCH), needs)) {
      if (!inScope(data, scope)) continue;
      const plan = needs.plan ? await planOf(data.carePlan.instantiatesCanonical?.[0]) : undefined;
      evaluatePathway(ctx, data, plan).forEach((result, g) => tallies[g].add(result, data.carePlan.id as string));
      if (scope.patient) evaluated.push(...evaluatedOf(data, scope.evaluatedSince));
    }
  }
  return evaluated;
}

/** Batches in the worker at once: this thread reads ahead while it evaluates. */
const AHEAD = 3;

/**
 * Each pathway read here and parsed and evaluated in the worker (parallel.ts): the next batch is read
 * while the worker runs the last. Results are tallied in the order read, as in one thread.
 */
async function inWorker(run: Run, ids: string[]): Promise<void> {
  const { svc, db, def, scope, runner, needs, tallies } = run;
  const worker = new WorkerEvaluation({
    def,
    period: scope.period,
    now: svc.clock.now().toISOString(),
    queries: runner.queryMembers(),
    unit: scope.unit,
    practitioner: scope.practitioner,
  });
  const planOf = needs.plan ? planLookup(svc, db) : undefined;
  const pending: Promise<Awaited<ReturnType<WorkerEvaluation['evaluate']>>>[] = [];
  const tally = (results: Awaited<(typeof pending)[number]>) => {
    for (const r of results) r.groups.forEach((w, g) => tallies[g].add(fromWire(w), r.id));
  };
  try {
    for (let i = 0; i < ids.length; i += BATCH) {
      const raw = await readRawPathways(db, svc.store.storage.kind, ids.slice(i, i + BATCH), needs);
      const job = worker.evaluate(raw, planOf);
      // a failure is met where it is awaited, in order; until then it is not unhandled
      job.catch(() => undefined);
      pending.push(job);
      if (pending.length >= AHEAD) tally(await (pending.shift() as (typeof pending)[number]));
    }
    for (const job of pending) tally(await job);
  } finally {
    worker.close();
  }
}

/**
 * Evaluates a Measure over the pathways in scope, read in `db` (one snapshot: the report sees no write
 * half done) a batch at a time: each pathway through the criteria, into each group's tally. Many
 * pathways (`parallel.from`, not a patient's) are parsed and evaluated in a worker thread while this
 * one reads; the result is the same.
 */
export async function evaluateMeasure(
  svc: Services,
  db: SqlExecutor,
  def: MeasureDef,
  scope: Scope,
): Promise<Evaluated> {
  const runner = new CriteriaRunner(svc);
  await runner.prepare(svc, db, def, scope.period);
  const needs = needsOf(def, scope);
  const tallies = def.groups.map((g) => new GroupTally(g, scope.listed));
  const run: Run = { svc, db, def, scope, runner, needs, tallies };
  const ids = await candidateIds(svc, db, scope.period, scope.patient);
  if (!scope.patient && ids.length >= parallel.from) {
    await inWorker(run, ids);
    return { tallies, evaluated: [] };
  }
  return { tallies, evaluated: await inThread(run, ids) };
}
