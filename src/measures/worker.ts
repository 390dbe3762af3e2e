import { parentPort } from 'node:worker_threads';
import type { PlanDefinition } from '@medplum/fhirtypes';
import { FhirError } from '../fhir/errors.js';
import { CriteriaRunner } from './criteria.js';
import type { BatchAnswer, EvaluationSetup, ToWorker } from './parallel-protocol.js';
import { evaluatePathway, type GroupResult, type PathwayContext } from './pathway.js';
import { parsePathway, type RawPathway } from './raw.js';
import { inScope } from './scope.js';

/**
 * Evaluations' pathways parsed and run through the criteria in a thread of their own (see
 * parallel.ts), while the main thread reads the next batch. Nothing here reads the database.
 */
const port = parentPort;
if (!port) throw new Error('worker.ts runs as a worker thread');

interface Evaluation {
  setup: EvaluationSetup;
  ctx: PathwayContext;
  plans: Map<string, PlanDefinition | undefined>;
}
const evaluations = new Map<number, Evaluation>();

function begin(setup: EvaluationSetup): Evaluation {
  const runner = new CriteriaRunner({ clock: { now: () => new Date(setup.now) } });
  runner.useQueryMembers(setup.queries);
  return { setup, ctx: { runner, def: setup.def, period: setup.period }, plans: new Map() };
}

const wire = (r: GroupResult) => ({ members: [...r.members], observation: r.observation, strata: r.strata });

function errorOf(err: unknown): NonNullable<BatchAnswer['error']> {
  if (!(err instanceof FhirError)) return { message: err instanceof Error ? err.message : String(err) };
  return { category: err.category, issues: err.issues, message: err.message };
}

function batch(e: Evaluation, pathways: RawPathway[]): NonNullable<BatchAnswer['results']> {
  const results: NonNullable<BatchAnswer['results']> = [];
  for (const raw of pathways) {
    const data = parsePathway(raw);
    if (!inScope(data, e.setup)) continue;
    const plan = raw.plan === undefined ? undefined : e.plans.get(raw.plan);
    results.push({ id: data.carePlan.id as string, groups: evaluatePathway(e.ctx, data, plan).map(wire) });
  }
  return results;
}

port.on('message', (m: ToWorker) => {
  if (m.type === 'begin') return void evaluations.set(m.evaluation, begin(m.setup));
  if (m.type === 'end') return void evaluations.delete(m.evaluation);
  try {
    const e = evaluations.get(m.evaluation);
    if (!e) throw new Error(`no evaluation ${m.evaluation} in the worker`);
    for (const [canonical, plan] of m.plans) e.plans.set(canonical, plan ?? undefined);
    port.postMessage({ id: m.id, results: batch(e, m.pathways) } satisfies BatchAnswer);
  } catch (err) {
    port.postMessage({ id: m.id, error: errorOf(err) } satisfies BatchAnswer);
  }
});
