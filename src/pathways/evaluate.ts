import type { Task } from '@medplum/fhirtypes';
import type { Clock } from '../fhir/clock.js';
import { applyChanges } from '../fhir/interactions/reactions.js';
import type { Services } from '../fhir/services.js';
import { addCalendarDays, osloDate } from './calendar.js';
import { deadlineStatus, type DeadlineStatus } from './deadlines.js';
import { DEADLINE_STATUS, recordBreach, STATUS_TEXT, withdrawBreach } from './breaches.js';
import { PathwayState } from './state.js';
import { referencedBy } from './search.js';
import { DUE_SOON_DAYS } from './due-soon.js';

export { DEADLINE_STATUS } from './breaches.js';

/** A milestone's standing as its `businessStatus`. */
export function standing(status: DeadlineStatus): {
  coding: { system: string; code: string; display: string }[];
  text: string;
} {
  return {
    coding: [{ system: DEADLINE_STATUS, code: status, display: STATUS_TEXT[status] }],
    text: STATUS_TEXT[status],
  };
}

/** Whether a milestone's stored standing is not the one today gives it (milestones without a limit have none). */
export function standingStale(task: Task, today: string): boolean {
  return withStanding(task, today) !== task;
}

/** Why a breach no longer stands, in the words the coordinator reads. */
function withdrawal(task: Task, status: DeadlineStatus, due: string | undefined, actual: string | undefined): string {
  if (task.status === 'cancelled')
    return `Milepælen er avlyst${task.statusReason?.text ? `: ${task.statusReason.text}` : ''}`;
  if (status === 'met') return `Milepælen ble utført ${actual}, innen fristen ${due}`;
  if (status === 'no-limit') return 'Milepælen har ikke lenger en frist';
  return `Fristen er nå ${due}: milepælen er ikke forfalt`;
}

/**
 * Evaluates one pathway against today (the injected clock), in memory: each milestone's
 * `businessStatus` (met, missed, overdue, due-soon, on-time; none for milestones without a limit or
 * cancelled ones); for each breach (overdue or missed) one DetectedIssue linked to the Task and the
 * CarePlan, found again by its identifier so evaluating twice never duplicates it; a breach the facts
 * no longer bear out withdrawn. Returns how many milestones changed standing and how many breaches are new.
 */
export function evaluatePathway(state: PathwayState, clock: Clock): { updated: number; breaches: number } {
  const today = osloDate(clock.now());
  const now = clock.now().toISOString();
  const before = state.breaches.length;
  let updated = 0;
  for (const task of state.tasks) {
    const s = deadlineStatus(task, today, DUE_SOON_DAYS);
    const standing = withStanding(task, today);
    if (standing !== task) {
      state.setTask(standing);
      updated++;
    }
    if (task.status !== 'cancelled' && (s.status === 'overdue' || s.status === 'missed')) {
      state.breaches = recordBreach(state.breaches, state.carePlan, task, s, today, now);
    } else {
      state.breaches = withdrawBreach(state.breaches, task, withdrawal(task, s.status, s.due, s.actual), now);
    }
  }
  return { updated, breaches: state.breaches.length - before };
}

/**
 * The milestone with the standing today gives it as its `businessStatus` (the same object when it has
 * it already): the server keeps it, so a client's copy never overrides it. A cancelled milestone or
 * one without a limit has none of ours (a business status a client gave it in another system stays).
 */
export function withStanding(task: Task, today: string): Task {
  const { status } = deadlineStatus(task, today, DUE_SOON_DAYS);
  const wanted = task.status === 'cancelled' || status === 'no-limit' ? undefined : status;
  const current = task.businessStatus?.coding?.[0];
  if (!wanted) {
    if (!current || current.system !== DEADLINE_STATUS) return task;
    const { businessStatus: _ours, ...rest } = task;
    return rest as Task;
  }
  const desired = standing(wanted);
  if (JSON.stringify(task.businessStatus) === JSON.stringify(desired)) return task;
  return { ...task, businessStatus: desired };
}

/**
 * What the calendar alone changes since the last evaluation: open milestones whose stored standing is
 * not the one today gives them — due before today but not overdue, due within DUE_SOON_DAYS but not
 * due soon, due later but not on time. Three searches over the Task index (`due`, `status`,
 * `business-status`), set-based: their cost follows the open milestones near a threshold, not the
 * number of CarePlans. Completed milestones are not among them: their met/missed is fixed by the
 * write that completes them (evaluation on every change).
 */
export async function staleCarePlans(svc: Services): Promise<string[]> {
  const today = osloDate(svc.clock.now());
  const soon = addCalendarDays(today, DUE_SOON_DAYS);
  const open = 'status:not=completed&status:not=cancelled';
  const not = (code: DeadlineStatus) => `business-status:not=${encodeURIComponent(`${DEADLINE_STATUS}|${code}`)}`;
  const ids = new Set<string>();
  for (const criteria of [
    `due=lt${today}&${not('overdue')}`,
    `due=ge${today}&due=le${soon}&${not('due-soon')}`,
    `due=gt${soon}&${not('on-time')}`,
  ]) {
    for (const id of await referencedBy(svc, 'Task', `${criteria}&${open}`, 'based-on', 'CarePlan', svc.store.storage))
      ids.add(id);
  }
  return [...ids].sort();
}

/**
 * The scheduled run: finds the CarePlans whose milestones the passing of time has changed
 * (staleCarePlans) and evaluates each of them in its own short transaction under its own lock (so API
 * nodes and the schedule may evaluate side by side). A CarePlan that is no longer an active pathway
 * is passed over.
 */
export async function evaluateAll(svc: Services): Promise<{ carePlans: number; updated: number; breaches: number }> {
  const total = { carePlans: 0, updated: 0, breaches: 0 };
  for (const id of await staleCarePlans(svc)) {
    const r = await svc.store.transaction(async (tx) => {
      await tx.lock(`pathway-evaluate:${id}`);
      const state = await PathwayState.load(svc, tx, id, { today: osloDate(svc.clock.now()) });
      if (!state || state.carePlan.status !== 'active') return undefined;
      const r = evaluatePathway(state, svc.clock);
      await applyChanges(svc, tx, state.changes());
      return r;
    });
    if (!r) continue;
    total.carePlans++;
    total.updated += r.updated;
    total.breaches += r.breaches;
  }
  return total;
}
