import type { Task } from '@medplum/fhirtypes';
import { h } from './dom.js';
import { norDate, plural } from './format.js';
import type { Deadline } from './pathway-data.js';
import { standingBadge } from './worklist-view.js';

/**
 * How a milestone stands on the timeline: `$deadlines`' standing, or from the Task: cancelled, on hold,
 * or the patient's postponement (event L, recorded over the period it lasted).
 */
export function timelineStatus(d: Deadline, task: Task | undefined): string {
  if (task?.status === 'cancelled') return 'cancelled';
  if (task?.status === 'on-hold' || (d.code === 'L' && task?.status === 'completed')) return 'postponed';
  return d.status;
}

function when(d: Deadline, task: Task | undefined): string {
  const parts: string[] = [];
  const period = task?.executionPeriod;
  if (d.code === 'L' && d.actual && period?.start && period.start !== period.end) {
    parts.push(`Utsatt ${norDate(period.start)}–${norDate(d.actual)}`);
  } else if (d.actual) parts.push(`Utført ${norDate(d.actual)}`);
  if (d.due) parts.push(`Frist ${norDate(d.due)}`);
  if (d.elapsedCalendarDays !== undefined) {
    const cal = plural(d.elapsedCalendarDays, 'dag', 'dager');
    parts.push(`${cal} (${plural(d.elapsedWorkingDays ?? 0, 'virkedag', 'virkedager')}) fra start`);
  }
  return parts.join(' · ');
}

/**
 * The milestones as a timeline, exactly as `$deadlines` gives them: its order, due and actual dates,
 * standings and elapsed days (each item carries them as data attributes, which the tests compare).
 */
export function timeline(deadlines: Deadline[], tasks: Map<string, Task>, extra: (d: Deadline) => Node[]) {
  return h(
    'ol',
    { class: 'timeline', id: 'tidslinje' },
    deadlines.map((d) => {
      const status = timelineStatus(d, tasks.get(d.task));
      return h(
        'li',
        {
          class: `t-${status}`,
          'data-task': d.task,
          'data-status': d.status,
          'data-due': d.due ?? '',
          'data-actual': d.actual ?? '',
          'data-elapsed': `${d.elapsedCalendarDays ?? ''}/${d.elapsedWorkingDays ?? ''}`,
        },
        h('strong', {}, d.display || d.task),
        ' ',
        standingBadge(status),
        d.breach ? h('span', { class: 'standing s-breached' }, 'Brudd registrert') : null,
        h('div', { class: 'muted' }, when(d, tasks.get(d.task))),
        extra(d),
      );
    }),
  );
}
