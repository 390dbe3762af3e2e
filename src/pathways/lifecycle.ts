import type { Task } from '@medplum/fhirtypes';
import { addCalendarDays, calendarDaysBetween } from './calendar.js';
import type { PathwayState } from './state.js';

const OPEN = new Set(['draft', 'requested', 'received', 'accepted', 'ready', 'in-progress', 'on-hold']);

export function isOpen(task: Task): boolean {
  return OPEN.has(task.status);
}

/**
 * The pathway has ended (X, with its reason in the Task's output: completed, transferred to another
 * pathway or trust, dropped out …): the CarePlan is completed and its EpisodeOfCare finished on that
 * date, and the milestones still open are cancelled (evaluation then takes their standing away and
 * withdraws their breaches). A transfer then starts the next pathway with `$apply`.
 */
export function endPathway(state: PathwayState, date: string): void {
  for (const task of state.tasks.filter(isOpen)) {
    state.setTask({ ...task, status: 'cancelled', statusReason: { text: `Forløpet ble avsluttet ${date} (X)` } });
  }
  state.carePlan = { ...state.carePlan, status: 'completed', period: { ...state.carePlan.period, end: date } };
  if (state.episode)
    state.episode = { ...state.episode, status: 'finished', period: { ...state.episode.period, end: date } };
}

/**
 * Patient-postponed (L, kodeveileder §2.2): the postponement's period (the Task's executionPeriod)
 * moves every open milestone's due date by as many calendar days. Pathway times are still measured
 * from the start (`$deadlines` counts elapsed days as before). Runs once, when L is completed.
 */
export function postponePathway(state: PathwayState, postponement: Task): void {
  const start = postponement.executionPeriod?.start?.slice(0, 10);
  const end = postponement.executionPeriod?.end?.slice(0, 10);
  if (!start || !end) return;
  const days = calendarDaysBetween(start, end);
  if (days <= 0) return;
  for (const task of state.tasks.filter((t) => isOpen(t) && t.restriction?.period?.end)) {
    const due = addCalendarDays(task.restriction?.period?.end?.slice(0, 10) as string, days);
    state.setTask({ ...task, restriction: { ...task.restriction, period: { ...task.restriction?.period, end: due } } });
  }
}
