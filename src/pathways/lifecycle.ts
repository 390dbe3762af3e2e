import type { CarePlan, EpisodeOfCare, Task } from '@medplum/fhirtypes';
import { update } from '../fhir/interactions/write.js';
import type { Services } from '../fhir/services.js';
import type { Tx } from '../storage/types.js';
import { addCalendarDays, calendarDaysBetween } from './calendar.js';

const OPEN = new Set(['draft', 'requested', 'received', 'accepted', 'ready', 'in-progress', 'on-hold']);

/**
 * The pathway has ended (X, with its reason in the Task's output: completed, transferred to another
 * pathway or trust, dropped out …): the CarePlan is completed and its EpisodeOfCare finished on that
 * date, and the milestones still open are cancelled. A transfer then starts the next pathway with
 * `$apply` (the patient has no other open pathway any more).
 */
export async function endPathway(svc: Services, tx: Tx, carePlan: CarePlan, siblings: Task[], date: string): Promise<void> {
  for (const task of siblings.filter((t) => OPEN.has(t.status))) {
    // a cancelled milestone has no standing any more (a breach before it stays recorded as its DetectedIssue)
    const { businessStatus: _standing, ...rest } = task;
    await update(svc, tx, 'Task', task.id as string, { ...rest, status: 'cancelled', statusReason: { text: `Forløpet ble avsluttet ${date} (X)` } });
  }
  await update(svc, tx, 'CarePlan', carePlan.id as string, { ...carePlan, status: 'completed', period: { ...carePlan.period, end: date } });
  for (const ref of carePlan.supportingInfo ?? []) {
    const [type, id] = (ref.reference ?? '').split('/');
    if (type !== 'EpisodeOfCare') continue;
    const row = await svc.store.current('EpisodeOfCare', id, tx);
    if (!row?.content || row.deleted) continue;
    const episode = JSON.parse(row.content as string) as EpisodeOfCare;
    await update(svc, tx, 'EpisodeOfCare', id, { ...episode, status: 'finished', period: { ...episode.period, end: date } });
  }
}

/**
 * Patient-postponed (L, kodeveileder §2.2): the postponement's period (the Task's executionPeriod)
 * moves every open milestone's due date by as many calendar days. Pathway times are still measured
 * from the start (`$deadlines` counts elapsed days as before).
 */
export async function postponePathway(svc: Services, tx: Tx, siblings: Task[], postponement: Task): Promise<void> {
  const start = postponement.executionPeriod?.start?.slice(0, 10);
  const end = postponement.executionPeriod?.end?.slice(0, 10);
  if (!start || !end) return;
  const days = calendarDaysBetween(start, end);
  if (days <= 0) return;
  for (const task of siblings.filter((t) => OPEN.has(t.status) && t.restriction?.period?.end)) {
    const due = addCalendarDays(task.restriction?.period?.end?.slice(0, 10) as string, days);
    await update(svc, tx, 'Task', task.id as string, { ...task, restriction: { ...task.restriction, period: { ...task.restriction?.period, end: due } } });
  }
}
