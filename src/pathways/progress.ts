import type { CarePlan, PlanDefinition, PlanDefinitionAction, Resource, Task } from '@medplum/fhirtypes';
import { update } from '../fhir/interactions/write.js';
import { findMatches } from '../fhir/search/execute.js';
import type { Services, WriteReaction } from '../fhir/services.js';
import type { Tx } from '../storage/types.js';
import { osloDate } from './calendar.js';
import { FhirError } from '../fhir/errors.js';
import { inValueSet } from '../terminology/membership.js';
import { TerminologyContext } from '../terminology/source.js';
import { eventCode, nprRules, outcomeValueSet, PATHWAY_ACTION, PATHWAY_CONTEXT, timeLimits, type TimeLimit } from './plan.js';
import { evaluateCarePlan, standingStale } from './evaluate.js';
import { endPathway, postponePathway } from './lifecycle.js';
import { DeadlineRules, enforceNprRules } from './rules.js';
import { dateOf, findAll } from './search.js';

/** The Task's pathway action: `[CarePlan id]/[action id]` from its identifier. */
export function actionOf(task: Task): { carePlanId: string; actionId: string } | undefined {
  const value = task.identifier?.find((i) => i.system === PATHWAY_ACTION)?.value;
  const slash = value?.lastIndexOf('/') ?? -1;
  return value && slash > 0 ? { carePlanId: value.slice(0, slash), actionId: value.slice(slash + 1) } : undefined;
}

export async function planOf(svc: Services, canonical: string | undefined): Promise<PlanDefinition | undefined> {
  if (!canonical) return undefined;
  const [url, version] = canonical.split('|');
  const all = (await svc.terminology.searchAll('PlanDefinition', [['url', url]])).map((r) => JSON.parse(r) as PlanDefinition);
  return all.find((p) => version === undefined || p.version === version);
}

/** The limit of `dependent` that counts from the completed action (a repeating one, from its own event). */
function limitFrom(dependent: PlanDefinitionAction, done: PlanDefinitionAction, variables: Record<string, unknown>, rules: DeadlineRules): TimeLimit | undefined {
  return timeLimits(dependent).find(
    (l) =>
      (l.from === done.id || (l.from === dependent.id && eventCode(dependent) !== undefined && eventCode(dependent) === eventCode(done))) &&
      (!l.condition || rules.evaluate(l.condition, {}, variables)[0] === true),
  );
}

/**
 * A pathway milestone completed (its Task written with status `completed`), in the same transaction
 * as the write: NPR's order rules are checked; every open milestone whose time limit counts from it
 * gets its due date — from the completion date, by the rule in the PlanDefinition, under the
 * CarePlan's setting and severity (a repeating milestone, the next evaluation, counts from the latest
 * one with its event code); a postponement (L) moves the open due dates; the end (X) closes the pathway.
 */
export const pathwayProgress: WriteReaction = { type: 'Task', run: progress };

async function progress(svc: Services, tx: Tx, resource: Resource): Promise<void> {
  if (resource.resourceType !== 'Task') return;
  const where = actionOf(resource);
  if (!where) return;
  if (resource.status !== 'completed') {
    // an open milestone edited (a due date moved, reopened …): evaluated now if its standing changed
    if (!standingStale(resource, osloDate(svc.clock.now()))) return;
    const row = await svc.store.current('CarePlan', where.carePlanId, tx);
    const carePlan = row?.content && !row.deleted ? (JSON.parse(row.content as string) as CarePlan) : undefined;
    if (carePlan?.status === 'active') await evaluateOnce(svc, tx, carePlan);
    return;
  }
  const plan = await planOf(svc, resource.instantiatesCanonical);
  const action = plan?.action?.find((a) => a.id === where.actionId);
  if (!plan || !action) return;
  await checkOutcome(svc, action, resource);
  const carePlanRow = await svc.store.current('CarePlan', where.carePlanId, tx);
  if (!carePlanRow?.content || carePlanRow.deleted) return;
  const carePlan = JSON.parse(carePlanRow.content as string) as CarePlan;
  const context = carePlan.extension?.find((e) => e.url === PATHWAY_CONTEXT)?.extension ?? [];
  const variables = Object.fromEntries(context.map((e) => [e.url, e.valueCode ?? '']));
  const end = resource.executionPeriod?.end;
  const from = dateOf(end) ?? osloDate(svc.clock.now());
  const rules = new DeadlineRules(svc.clock);
  // NPR's order rules, over the milestones completed on or before this one
  const others = (await findAll<Task>(svc, 'Task', `based-on=CarePlan/${where.carePlanId}`, tx)).filter((t) => t.id !== resource.id);
  const siblings = others.filter((t) => t.status === 'completed');
  const done = siblings.filter((t) => dateOf(t.executionPeriod?.end) !== undefined && (dateOf(t.executionPeriod?.end) as string) <= from);
  enforceNprRules(rules, nprRules(plan, 'complete'), {}, { ...variables, task: resource, done }, 'Task.status');
  for (const dependent of plan.action ?? []) {
    const limit = limitFrom(dependent, action, variables, rules);
    if (!limit) continue;
    const [row] = await findMatches(svc, 'Task', `identifier=${encodeURIComponent(`${PATHWAY_ACTION}|${where.carePlanId}/${dependent.id}`)}`, tx);
    if (!row?.content || row.deleted) continue;
    const task = JSON.parse(row.content as string) as Task;
    if (task.status === 'completed' || task.status === 'cancelled') continue;
    const due = rules.date(limit.rule, {}, { ...variables, from });
    if (task.restriction?.period?.end === due && task.restriction.period.start === from) continue;
    await update(svc, tx, 'Task', task.id as string, { ...task, restriction: { ...task.restriction, period: { start: from, end: due } } });
  }
  const event = eventCode(action);
  if (event === 'L') await postponePathway(svc, tx, await findAll<Task>(svc, 'Task', `based-on=CarePlan/${where.carePlanId}`, tx), resource);
  if (event === 'X' && carePlan.status === 'active') await endPathway(svc, tx, carePlan, others, from);
  else await evaluateOnce(svc, tx, carePlan);
}

/**
 * A milestone's outcome (9323 for C, 9326 for X …) is its coded `Task.output.value`: each one must be
 * in the value set the action names (`output.codeFilter`), or the write is refused (422) at that output.
 */
async function checkOutcome(svc: Services, action: PlanDefinitionAction, task: Task): Promise<void> {
  const valueSet = outcomeValueSet(action);
  for (const [i, output] of (task.output ?? []).entries()) {
    const codings = output.valueCodeableConcept?.coding ?? (output.valueCoding ? [output.valueCoding] : undefined);
    if (!codings) continue;
    const element = `Task.output[${i}].${output.valueCoding ? 'valueCoding' : 'valueCodeableConcept'}`;
    const shown = codings.map((c) => `${c.system ?? ''}#${c.code ?? ''}`).join(', ');
    if (!valueSet) throw new FhirError('unprocessable', { message: `The milestone '${action.title}' has no outcome, but the Task gives ${shown}`, code: 'business-rule', expression: element });
    const ctx = new TerminologyContext(svc.terminology, await svc.terminology.generation());
    if ((await inValueSet(ctx, valueSet, codings)) === false) {
      throw new FhirError('unprocessable', { message: `${shown} is not an outcome of '${action.title}' (${valueSet})`, code: 'code-invalid', expression: element });
    }
  }
}

/** Transactions already evaluating: the Tasks that evaluation writes do not start it again. */
const evaluating = new WeakSet<Tx>();

/** Deadline evaluation on every change (the schedule does the same for time passing). */
export async function evaluateOnce(svc: Services, tx: Tx, carePlan: CarePlan): Promise<void> {
  if (evaluating.has(tx)) return;
  evaluating.add(tx);
  try {
    await evaluateCarePlan(svc, tx, carePlan);
  } finally {
    evaluating.delete(tx);
  }
}
