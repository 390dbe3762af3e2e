import type { CarePlan, DetectedIssue, Task } from '@medplum/fhirtypes';
import { create, update } from '../fhir/interactions/write.js';
import { findMatches } from '../fhir/search/execute.js';
import type { Services } from '../fhir/services.js';
import type { Tx } from '../storage/types.js';
import { addCalendarDays, osloDate } from './calendar.js';
import { deadlineStatus, type DeadlineStatus } from './deadlines.js';
import { findAll, referencedBy } from './search.js';

export const DEADLINE_STATUS = 'http://forlop.no/fhir/CodeSystem/deadline-status';
const BREACH = 'http://forlop.no/fhir/NamingSystem/deadline-breach';
/** The displays of the shipped CodeSystem deadline-status (valuesets/; a test checks they agree). */
const TEXT: Record<DeadlineStatus, string> = {
  met: 'Innenfor forløpstid',
  missed: 'Forløpstid overskredet',
  overdue: 'Forfalt',
  'due-soon': 'Forfaller snart',
  'on-time': 'I rute',
  'no-limit': 'Uten forløpstid',
};
/** A milestone's standing as its `businessStatus`. */
export function standing(status: DeadlineStatus): { coding: { system: string; code: string; display: string }[]; text: string } {
  return { coding: [{ system: DEADLINE_STATUS, code: status, display: TEXT[status] }], text: TEXT[status] };
}

/** Whether a milestone's stored standing is not the one today gives it (milestones without a limit have none). */
export function standingStale(task: Task, today: string): boolean {
  const { status } = deadlineStatus(task, today, DUE_SOON_DAYS);
  return status !== 'no-limit' && task.status !== 'cancelled' && task.businessStatus?.coding?.[0]?.code !== status;
}

/** Days before a due date from which an open milestone is due soon. */
export const DUE_SOON_DAYS = 7;

/**
 * Evaluates one pathway against today (the injected clock): each milestone's `businessStatus`
 * (met, missed, overdue, due-soon, on-time; none for milestones without a limit), written only when it
 * changed, and for each breach (overdue or missed) one DetectedIssue linked to the Task and the
 * CarePlan — found again by its identifier, so evaluating twice never duplicates it. Returns what it wrote.
 */
export async function evaluateCarePlan(svc: Services, tx: Tx, carePlan: CarePlan): Promise<{ updated: number; breaches: number }> {
  const today = osloDate(svc.clock.now());
  const tasks = await findAll<Task>(svc, 'Task', `based-on=CarePlan/${carePlan.id}`, tx);
  let updated = 0;
  let breaches = 0;
  for (const task of tasks) {
    if (task.status === 'cancelled') continue;
    const { status, due } = deadlineStatus(task, today, DUE_SOON_DAYS);
    if (status === 'no-limit') continue;
    if (task.businessStatus?.coding?.[0]?.code !== status) {
      await update(svc, tx, 'Task', task.id as string, { ...task, businessStatus: standing(status) });
      updated++;
    }
    if (status === 'overdue' || status === 'missed') {
      const [found] = await findMatches(svc, 'DetectedIssue', `identifier=${encodeURIComponent(`${BREACH}|${task.id}`)}`, tx);
      if (found) continue;
      const issue: DetectedIssue = {
        resourceType: 'DetectedIssue',
        identifier: [{ system: BREACH, value: task.id }],
        status: 'final',
        code: { coding: [{ system: DEADLINE_STATUS, code: status, display: TEXT[status] }], text: 'Brudd på forløpstid' },
        severity: 'moderate',
        patient: carePlan.subject?.reference?.startsWith('Patient/') ? { reference: carePlan.subject.reference } : undefined,
        identifiedDateTime: svc.clock.now().toISOString(),
        implicated: [{ reference: `Task/${task.id}`, display: task.description }, { reference: `CarePlan/${carePlan.id}` }],
        detail: `${task.description ?? 'Milestone'}: due ${due}, ${status === 'missed' ? `done ${osloDate(new Date(task.executionPeriod?.end as string))}` : `not done by ${today}`}`,
      };
      await create(svc, tx, 'DetectedIssue', issue);
      breaches++;
    }
  }
  return { updated, breaches };
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
  for (const criteria of [`due=lt${today}&${not('overdue')}`, `due=ge${today}&due=le${soon}&${not('due-soon')}`, `due=gt${soon}&${not('on-time')}`]) {
    for (const id of await referencedBy(svc, 'Task', `${criteria}&${open}`, 'based-on', 'CarePlan', svc.store.storage)) ids.add(id);
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
      const row = await svc.store.current('CarePlan', id, tx);
      const carePlan = row?.content ? (JSON.parse(row.content as string) as CarePlan) : undefined;
      if (!carePlan || carePlan.status !== 'active' || !carePlan.instantiatesCanonical?.length) return undefined;
      return evaluateCarePlan(svc, tx, carePlan);
    });
    if (!r) continue;
    total.carePlans++;
    total.updated += r.updated;
    total.breaches += r.breaches;
  }
  return total;
}
