import type { CarePlan, DetectedIssue, Parameters, ParametersParameter, Task } from '@medplum/fhirtypes';
import { FhirError } from '../fhir/errors.js';
import type { Operation } from '../fhir/operations/types.js';
import { operationInput } from '../fhir/operations/parameters.js';
import { calendarDaysBetween, osloDate, workingDaysBetween } from './calendar.js';
import { breachOf, isWithdrawn } from './breaches.js';
import { dateOf, findAll } from './search.js';

/** Where a milestone stands against its time limit. */
export type DeadlineStatus = 'met' | 'missed' | 'overdue' | 'due-soon' | 'on-time' | 'no-limit';

/** A milestone's standing: done or not, by when, against today (Oslo dates). */
export function deadlineStatus(
  task: Task,
  today: string,
  soonDays: number,
): { status: DeadlineStatus; due?: string; actual?: string } {
  const due = task.restriction?.period?.end?.slice(0, 10);
  const end = task.executionPeriod?.end;
  const actual = task.status === 'completed' ? dateOf(end) : undefined;
  if (!due) return { status: 'no-limit', actual };
  if (actual) return { status: actual <= due ? 'met' : 'missed', due, actual };
  if (today > due) return { status: 'overdue', due };
  return { status: calendarDaysBetween(today, due) <= soonDays ? 'due-soon' : 'on-time', due };
}

/**
 * `CarePlan/[id]/$deadlines`: the pathway times of one patient's pathway — for each milestone (Task)
 * its due date, its actual date, its standing (met, missed, overdue, due-soon, on-time, no-limit) and
 * the days elapsed since the pathway started, in calendar and in Norwegian working days, up to the
 * actual date or, for an open milestone, today in Oslo (the injected clock); and its breach, when one
 * stands (a withdrawn DetectedIssue is not one). `soon` (days, default 7)
 * sets what counts as due soon.
 */
export const deadlinesOperation: Operation = {
  name: 'deadlines',
  definition: 'http://forlop.no/fhir/OperationDefinition/deadlines',
  levels: ['instance'],
  resourceTypes: ['CarePlan'],
  methods: ['GET', 'POST'],
  access: () => [
    { type: 'CarePlan', action: 'r' },
    { type: 'Task', action: 's' },
  ],
  async handler(svc, req, target) {
    const row = await svc.store.current('CarePlan', target.id as string);
    if (!row || row.deleted) throw new FhirError('not-found', `CarePlan/${target.id} is not known`);
    const carePlan = JSON.parse(row.content as string) as CarePlan;
    const soonInput = operationInput(req).get('soon')?.[0];
    const soon = soonInput === undefined ? 7 : Number(soonInput);
    if (!Number.isInteger(soon) || soon < 0)
      throw new FhirError('invalid', { message: 'soon is a whole number of days', expression: 'soon' });
    const start = carePlan.period?.start?.slice(0, 10);
    if (!start)
      throw new FhirError('unprocessable', {
        message: `CarePlan/${target.id} has no period.start: it is not a pathway`,
        expression: 'CarePlan.period.start',
      });
    const tasks = await findAll<Task>(svc, 'Task', `based-on=CarePlan/${target.id}`, svc.store.storage);
    // the breaches that stand (a withdrawn one is not counted)
    const found = await findAll<DetectedIssue>(
      svc,
      'DetectedIssue',
      `implicated=CarePlan/${target.id}`,
      svc.store.storage,
    );
    const breaches = found.filter((b) => !isWithdrawn(b));
    // in the CarePlan's order (the pathway's), not the search's
    const order = new Map((carePlan.activity ?? []).map((a, i) => [a.reference?.reference, i]));
    tasks.sort((a, b) => (order.get(`Task/${a.id}`) ?? 1e9) - (order.get(`Task/${b.id}`) ?? 1e9));
    const today = osloDate(svc.clock.now());
    const milestones: ParametersParameter[] = tasks.map((task) => {
      const s = deadlineStatus(task, today, soon);
      const until = s.actual ?? today;
      const breach = breachOf(breaches, task);
      return {
        name: 'milestone',
        part: [
          { name: 'task', valueReference: { reference: `Task/${task.id}`, display: task.description } },
          ...(task.code?.coding?.[0] ? [{ name: 'code', valueCoding: task.code.coding[0] }] : []),
          { name: 'status', valueCode: s.status },
          ...(s.due ? [{ name: 'due', valueDate: s.due }] : []),
          ...(s.actual ? [{ name: 'actual', valueDate: s.actual }] : []),
          { name: 'elapsedCalendarDays', valueInteger: calendarDaysBetween(start, until) },
          { name: 'elapsedWorkingDays', valueInteger: workingDaysBetween(start, until) },
          ...(breach ? [{ name: 'breach', valueReference: { reference: `DetectedIssue/${breach.id}` } }] : []),
        ],
      };
    });
    const resource: Parameters = {
      resourceType: 'Parameters',
      parameter: [
        { name: 'carePlan', valueReference: { reference: `CarePlan/${target.id}` } },
        { name: 'start', valueDate: start },
        { name: 'today', valueDate: today },
        ...milestones,
      ],
    };
    return { status: 200, resource };
  },
};
