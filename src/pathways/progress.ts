import type { PlanDefinition, PlanDefinitionAction, Resource, Task } from '@medplum/fhirtypes';
import { FhirError } from '../fhir/errors.js';
import type { Services, WriteEvent, WriteReaction } from '../fhir/services.js';
import type { Tx } from '../storage/types.js';
import { osloDate } from './calendar.js';
import { evaluatePathway, standingStale, withStanding } from './evaluate.js';
import { endPathway, isOpen, postponePathway } from './lifecycle.js';
import { checkMilestone } from './milestone-checks.js';
import { eventCode, nprRules, timeLimits, type TimeLimit } from './plan.js';
import { DeadlineRules, enforceNprRules } from './rules.js';
import { dateOf } from './search.js';
import { actionOf, PathwayState } from './state.js';

export { actionOf, planOf } from './state.js';

/** The limit of `dependent` that counts from the completed action (a repeating one, from its own event). */
function limitFrom(
  dependent: PlanDefinitionAction,
  done: PlanDefinitionAction,
  variables: Record<string, unknown>,
  rules: DeadlineRules,
): TimeLimit | undefined {
  const repeats = (l: TimeLimit) =>
    l.from === dependent.id && eventCode(dependent) !== undefined && eventCode(dependent) === eventCode(done);
  return timeLimits(dependent).find(
    (l) =>
      (l.from === done.id || repeats(l)) && (!l.condition || rules.evaluate(l.condition, {}, variables)[0] === true),
  );
}

/** The fields of a milestone that its pathway follows: a change in any of them is reacted to. */
const FOLLOWED = ['status', 'executionPeriod', 'restriction', 'output', 'code'] as const;

function followedChange(before: Task | undefined, after: Task, today: string): boolean {
  if (standingStale(after, today)) return true;
  if (!before) return after.status === 'completed';
  return FOLLOWED.some((k) => JSON.stringify(before[k]) !== JSON.stringify(after[k]));
}

/**
 * A pathway milestone written (its Task), in the same transaction: a completion is checked against
 * NPR's order rules over every completed milestone, sets the due date of each open milestone whose time
 * limit counts from it (by the rule in the PlanDefinition, under the CarePlan's setting and severity; a
 * repeating milestone, the next evaluation, counts from the latest with its event code); a
 * postponement (L) moves the open due dates once; the end (X) closes the pathway. Then the pathway is
 * evaluated (standings, breaches made or withdrawn). Returns what changed, for the write loop to store;
 * the changes it makes itself (origin `reaction`) need nothing more.
 */
export const pathwayProgress: WriteReaction = {
  type: 'Task',
  prepare: keepStanding,
  check: checkMilestone,
  react: progress,
};

/** A milestone is stored with its standing today, whatever standing the client's copy carried. */
function keepStanding(svc: Services, resource: Resource): Resource {
  const task = resource as Task;
  return actionOf(task) ? withStanding(task, osloDate(svc.clock.now())) : resource;
}

async function progress(svc: Services, tx: Tx, event: WriteEvent): Promise<Resource[]> {
  const task = event.after as Task | undefined;
  if (event.origin === 'reaction' || !task) return [];
  const where = actionOf(task);
  if (!where || !followedChange(event.before as Task | undefined, task, osloDate(svc.clock.now()))) return [];
  const state = await PathwayState.load(svc, tx, where.carePlanId, { plan: task.status === 'completed' });
  if (!state) return [];
  const action = state.plan?.action?.find((a) => a.id === where.actionId);
  if (task.status === 'completed' && state.plan && action)
    complete(svc, state, state.plan, action, task, event.before as Task | undefined);
  evaluatePathway(state, svc.clock);
  return state.changes();
}

function complete(
  svc: Services,
  state: PathwayState,
  plan: PlanDefinition,
  action: PlanDefinitionAction,
  task: Task,
  before: Task | undefined,
): void {
  const rules = new DeadlineRules(svc.clock);
  const from = dateOf(task.executionPeriod?.end) ?? osloDate(svc.clock.now());
  const moved =
    before?.status !== 'completed' ||
    ['executionPeriod', 'code'].some(
      (k) => JSON.stringify(before[k as keyof Task]) !== JSON.stringify(task[k as keyof Task]),
    );
  if (moved) checkOrder(rules, state, plan, task);
  const variables = state.variables;
  for (const dependent of plan.action ?? []) {
    const limit = limitFrom(dependent, action, variables, rules);
    const open = limit && state.tasks.find((t) => actionOf(t)?.actionId === dependent.id && isOpen(t));
    if (!limit || !open) continue;
    const due = rules.date(limit.rule, {}, { ...variables, from });
    if (open.restriction?.period?.end === due && open.restriction.period.start === from) continue;
    state.setTask({ ...open, restriction: { ...open.restriction, period: { start: from, end: due } } });
  }
  const code = eventCode(action);
  if (code === 'L' && before?.status !== 'completed') postponePathway(state, task);
  if (code === 'X' && state.carePlan.status === 'active') endPathway(state, from);
}

/**
 * NPR's order rules (the PlanDefinition's `npr-rule` extensions on completion) over every completed
 * milestone, each against those dated on or before it: a completion dated so that another milestone now
 * comes out of order (C dated before M, or an evaluation now before the clinical decision) is refused
 * with the NPR feedback code — the written milestone's own rule first, at `Task.status` as before.
 */
function checkOrder(rules: DeadlineRules, state: PathwayState, plan: PlanDefinition, written: Task): void {
  const list = nprRules(plan, 'complete');
  const completed = state.tasks.filter((t) => t.status === 'completed' && dateOf(t.executionPeriod?.end));
  const others = completed.filter((t) => t.id !== written.id);
  for (const task of [written, ...others]) {
    const date = dateOf(task.executionPeriod?.end) ?? osloDate(rules.now());
    const done = completed.filter((t) => t.id !== task.id && (dateOf(t.executionPeriod?.end) as string) <= date);
    try {
      enforceNprRules(rules, list, {}, { ...state.variables, task, done }, 'Task.status');
    } catch (err) {
      if (task === written || !(err instanceof FhirError)) throw err;
      const [issue] = err.issues;
      throw new FhirError('unprocessable', {
        message: `${issue.diagnostics}: '${task.description}' (Task/${task.id}, ${date}) would come out of order`,
        code: 'business-rule',
        details: issue.details,
        expression: 'Task.executionPeriod.end',
      });
    }
  }
}
