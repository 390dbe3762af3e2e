import type { CareTeam } from '@medplum/fhirtypes';
import { CARE_TEAM_ROLE } from '../pathways/plan.js';
import { dateOf } from '../pathways/search.js';
import type { MeasurementPeriod } from './period.js';
import type { PathwayData } from './source.js';

/** Which pathways are counted: the period's, narrowed to a patient, a unit or a coordinator. */
export interface Scope {
  period: MeasurementPeriod;
  patient?: string;
  unit?: string;
  practitioner?: string;
  /** Keep the CarePlans of each population (a subject-list report). */
  listed: boolean;
  /** An individual report's evaluated resources: those changed since (a date or dateTime). */
  evaluatedSince?: string;
}

const isCoordinator = (team: CareTeam | undefined, practitioner: string) =>
  (team?.participant ?? []).some(
    (p) =>
      p.member?.reference === `Practitioner/${practitioner}` &&
      p.role?.some((r) => r.coding?.some((c) => c.system === CARE_TEAM_ROLE && c.code === 'coordinator-specialist')),
  );

/** The pathway's period (Oslo dates) overlaps the measurement period: a pathway of the period. */
function overlaps(data: PathwayData, period: MeasurementPeriod): boolean {
  const start = dateOf(data.carePlan.period?.start);
  const end = dateOf(data.carePlan.period?.end);
  return (!start || start <= period.end) && (!end || end >= period.start);
}

/** Whether a pathway read is counted: of the period, and of the unit or coordinator asked for. */
export function inScope(data: PathwayData, scope: Pick<Scope, 'period' | 'unit' | 'practitioner'>): boolean {
  if (!overlaps(data, scope.period)) return false;
  if (scope.unit && data.episode?.managingOrganization?.reference !== `Organization/${scope.unit}`) return false;
  return !scope.practitioner || isCoordinator(data.careTeam, scope.practitioner);
}
