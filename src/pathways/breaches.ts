import type { CarePlan, DetectedIssue, Task } from '@medplum/fhirtypes';
import { newId } from '../fhir/ids.js';
import type { DeadlineStatus } from './deadlines.js';

export const DEADLINE_STATUS = 'http://forlop.no/fhir/CodeSystem/deadline-status';
/** A breach's identifier: one DetectedIssue per milestone (Task id), found again on every evaluation. */
export const BREACH = 'http://forlop.no/fhir/NamingSystem/deadline-breach';
/** The displays of the shipped CodeSystem deadline-status (valuesets/; a test checks they agree). */
export const STATUS_TEXT: Record<DeadlineStatus, string> = {
  met: 'Innenfor forløpstid',
  missed: 'Forløpstid overskredet',
  overdue: 'Forfalt',
  'due-soon': 'Forfaller snart',
  'on-time': 'I rute',
  'no-limit': 'Uten forløpstid',
};

/** Statuses (R4 DetectedIssue.status, ObservationStatus) of a breach that no longer stands. */
const WITHDRAWN = new Set<string>(['entered-in-error', 'cancelled']);

export function isWithdrawn(issue: DetectedIssue): boolean {
  return WITHDRAWN.has(issue.status);
}

export function breachOf(breaches: DetectedIssue[], task: Task): DetectedIssue | undefined {
  return breaches.find((b) => b.identifier?.some((i) => i.system === BREACH && i.value === task.id));
}

/** What the breach says: the milestone, its due date, and when it was done or that it is not. */
function detailOf(
  task: Task,
  status: DeadlineStatus,
  due: string | undefined,
  actual: string | undefined,
  today: string,
): string {
  const what = task.description ?? 'Milepæl';
  return `${what}: frist ${due}, ${status === 'missed' ? `utført ${actual}` : `ikke utført per ${today}`}`;
}

/**
 * A breach (overdue or missed) stands: its DetectedIssue is made, or brought back and brought up to
 * date when an earlier one had been withdrawn or the breach changed from overdue to missed.
 */
export function recordBreach(
  breaches: DetectedIssue[],
  carePlan: CarePlan,
  task: Task,
  standing: { status: DeadlineStatus; due?: string; actual?: string },
  today: string,
  now: string,
): DetectedIssue[] {
  const code = {
    coding: [{ system: DEADLINE_STATUS, code: standing.status, display: STATUS_TEXT[standing.status] }],
    text: 'Brudd på forløpstid',
  };
  const detail = detailOf(task, standing.status, standing.due, standing.actual, today);
  const found = breachOf(breaches, task);
  if (found && !isWithdrawn(found) && found.code?.coding?.[0]?.code === standing.status && found.detail === detail)
    return breaches;
  if (found) {
    const { mitigation: _withdrawn, ...rest } = found;
    const renewed: DetectedIssue = {
      ...rest,
      status: 'final',
      code,
      detail,
      ...(isWithdrawn(found) ? { identifiedDateTime: now } : {}),
    };
    return breaches.map((b) => (b === found ? renewed : b));
  }
  const subject = carePlan.subject?.reference;
  const issue: DetectedIssue = {
    resourceType: 'DetectedIssue',
    id: newId(),
    identifier: [{ system: BREACH, value: task.id }],
    status: 'final',
    code,
    severity: 'moderate',
    ...(subject?.startsWith('Patient/') ? { patient: { reference: subject } } : {}),
    identifiedDateTime: now,
    implicated: [{ reference: `Task/${task.id}`, display: task.description }, { reference: `CarePlan/${carePlan.id}` }],
    detail,
  };
  return [...breaches, issue];
}

/**
 * A breach the facts no longer bear out (a milestone found done in time by a back-dated completion,
 * cancelled, postponed, given a later due date) is withdrawn, never deleted: its status becomes
 * `entered-in-error` — R4's ObservationStatus defines it as "withdrawn following previous final
 * release", and it is the one withdrawal code every version of the DetectedIssue status value set
 * holds — with the reason and the date as its mitigation. Searches, `$deadlines` and indicators count
 * `final` breaches only.
 */
export function withdrawBreach(breaches: DetectedIssue[], task: Task, reason: string, now: string): DetectedIssue[] {
  const found = breachOf(breaches, task);
  if (!found || isWithdrawn(found)) return breaches;
  const withdrawn: DetectedIssue = {
    ...found,
    status: 'entered-in-error',
    mitigation: [{ action: { text: reason }, date: now }],
  };
  return breaches.map((b) => (b === found ? withdrawn : b));
}
