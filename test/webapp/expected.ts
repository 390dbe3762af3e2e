import type { Bundle, Parameters } from '@medplum/fhirtypes';
import { calendarDaysBetween, workingDaysBetween } from '../../src/pathways/calendar.js';
import { fhirCall } from './seed.js';

export interface Milestone {
  task: string;
  status: string;
  due?: string;
  actual?: string;
  elapsed: string;
}

/** `$deadlines` of a pathway, straight from the API. */
export async function deadlines(base: string, carePlan: string): Promise<{ today: string; milestones: Milestone[] }> {
  const p = await fhirCall<Parameters>(base, 'GET', `CarePlan/${carePlan}/$deadlines`);
  const today = p.parameter?.find((x) => x.name === 'today')?.valueDate ?? '';
  const milestones = (p.parameter ?? [])
    .filter((x) => x.name === 'milestone')
    .map((m) => {
      const part = (n: string) => m.part?.find((x) => x.name === n);
      return {
        task: part('task')?.valueReference?.reference ?? '',
        status: part('status')?.valueCode ?? '',
        due: part('due')?.valueDate,
        actual: part('actual')?.valueDate,
        elapsed: `${part('elapsedCalendarDays')?.valueInteger}/${part('elapsedWorkingDays')?.valueInteger}`,
      };
    });
  return { today, milestones };
}

/** What the worklist should say of a pathway, worked out from `$deadlines` and the breaches the API holds. */
export async function expectedRow(base: string, carePlan: string) {
  const { today, milestones } = await deadlines(base, carePlan);
  const tasks = await fhirCall<Bundle>(
    base,
    'GET',
    `Task?based-on=CarePlan/${carePlan}&status=cancelled,completed&_count=200`,
  );
  const closed = new Set((tasks.entry ?? []).map((e) => `Task/${e.resource?.id}`));
  const open = milestones.filter((m) => !m.actual && m.due && !closed.has(m.task));
  const due = open.map((m) => m.due as string).sort()[0];
  const breaches = await fhirCall<Bundle>(base, 'GET', `DetectedIssue?implicated=CarePlan/${carePlan}&status=final`);
  const breached = (breaches.entry ?? []).length > 0;
  let standing = 'on-time';
  if (breached) standing = 'breached';
  else if (due && today > due) standing = 'overdue';
  else if (due && calendarDaysBetween(today, due) <= 7) standing = 'due-soon';
  return {
    standing,
    due,
    daysLeft: due ? calendarDaysBetween(today, due) : undefined,
    workingDaysLeft: due ? workingDaysBetween(today, due) : undefined,
  };
}

export const norwegian = (iso: string) => `${iso.slice(8, 10)}.${iso.slice(5, 7)}.${iso.slice(0, 4)}`;
