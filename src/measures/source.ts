import type { CarePlan, CareTeam, EpisodeOfCare, Reference, Resource, ServiceRequest, Task } from '@medplum/fhirtypes';
import { currentByIds, matchingIds, referrersOf } from '../fhir/search/batch-reads.js';
import type { Services } from '../fhir/services.js';
import { addCalendarDays } from '../pathways/calendar.js';
import { PATHWAY_SYSTEM } from '../pathways/plan.js';
import type { SqlExecutor } from '../storage/types.js';
import type { MeasurementPeriod } from './period.js';

/** One pathway with what its criteria may read. */
export interface PathwayData {
  carePlan: CarePlan;
  /** The Tasks based on the CarePlan (its milestones), in the order they were stored: every one, or the completed. */
  tasks: Task[];
  episode?: EpisodeOfCare;
  careTeam?: CareTeam;
  /** The referral it started from (CarePlan.basedOn ServiceRequest). */
  referral?: ServiceRequest;
}

/** Which related resources a batch reads: only those a criterion or a filter uses. */
export interface Needs {
  /** Every Task (`%tasks`), or only the completed ones (`%done`). */
  allTasks: boolean;
  episode: boolean;
  careTeam: boolean;
  referral: boolean;
}

/**
 * The pathways (CarePlans with a Volven 9321 category) whose period overlaps the measurement period,
 * by id — one query over the search index, no resource read. The criteria decide membership; this
 * only leaves out what no event of the period can belong to (a pathway's events lie in its period: X
 * ends it and cancels what is open). A day is added at each end: the index keeps instants, the
 * period is Oslo dates. A patient's are found from the subject alone (see `patientPathways`).
 */
export async function candidateIds(
  svc: Services,
  db: SqlExecutor,
  period: MeasurementPeriod,
  patient?: string,
): Promise<string[]> {
  if (patient) return patientPathways(svc, db, patient);
  const query: [string, string][] = [
    ['category', `${PATHWAY_SYSTEM}|`],
    ['date', `ge${addCalendarDays(period.start, -1)}`],
    ['date', `le${addCalendarDays(period.end, 1)}`],
  ];
  return matchingIds(svc, 'CarePlan', query, db);
}

/**
 * A patient's pathways with a period: the planner would start the category and date query from the
 * index of every pathway's dates (a third of a second at 10,000 pathways), so the patient's few
 * CarePlans are found by subject and checked here for the category (`system|`, any code) and a
 * period; whether it overlaps the measurement period is the scope's check (`inScope`), as for all.
 */
async function patientPathways(svc: Services, db: SqlExecutor, patient: string): Promise<string[]> {
  const ids = await matchingIds(svc, 'CarePlan', [['subject', `Patient/${patient}`]], db);
  const carePlans = await currentByIds<CarePlan>(db, 'CarePlan', ids);
  return ids.filter((id) => {
    const c = carePlans.get(id);
    const pathway = c?.category?.some((cc) => cc.coding?.some((k) => k.system === PATHWAY_SYSTEM));
    return pathway && (c?.period?.start !== undefined || c?.period?.end !== undefined);
  });
}

export const idIn = (refs: { reference?: string }[] | undefined, type: string) =>
  refs
    ?.map((r) => r.reference)
    .find((r) => r?.startsWith(`${type}/`))
    ?.slice(type.length + 1);

/**
 * The Tasks of these CarePlans (via the `based-on` index), by CarePlan, in stored order: every one, or
 * only the completed ones (the others' rows are never read).
 */
async function tasksOf(db: SqlExecutor, targetIds: string[], all: boolean): Promise<Map<string, Task[]>> {
  const out = new Map<string, Task[]>(targetIds.map((id) => [id, []]));
  const q = { type: 'Task', via: 'based-on', targetType: 'CarePlan', targetIds };
  for (const r of await referrersOf<Task>(db, all ? q : { ...q, status: 'completed' }))
    out.get(r.target)?.push(r.resource);
  return out;
}

/**
 * A batch of pathways read at once (two to five queries, whatever the batch's size): their CarePlans
 * and Tasks, and the EpisodeOfCares, CareTeams and referrals when `needs` says so. Reads run in `db`,
 * the evaluation's snapshot. In the order of `ids`.
 */
export async function readPathways(db: SqlExecutor, ids: string[], needs: Needs): Promise<PathwayData[]> {
  const carePlans = await currentByIds<CarePlan>(db, 'CarePlan', ids);
  const plans = [...carePlans.values()];
  const tasks = await tasksOf(db, [...carePlans.keys()], needs.allTasks);
  const related = <T extends Resource>(wanted: boolean, type: string, refs: (c: CarePlan) => Reference[] | undefined) =>
    wanted ? currentByIds<T>(db, type, plans.map((c) => idIn(refs(c), type))) : new Map<string, T>();
  const episodes = await related<EpisodeOfCare>(needs.episode, 'EpisodeOfCare', (c) => c.supportingInfo);
  const teams = await related<CareTeam>(needs.careTeam, 'CareTeam', (c) => c.careTeam);
  const referrals = await related<ServiceRequest>(needs.referral, 'ServiceRequest', (c) => c.basedOn);
  return ids.flatMap((id) => {
    const carePlan = carePlans.get(id);
    if (!carePlan) return [];
    return [
      {
        carePlan,
        tasks: tasks.get(id) ?? [],
        episode: episodes.get(idIn(carePlan.supportingInfo, 'EpisodeOfCare') ?? ''),
        careTeam: teams.get(idIn(carePlan.careTeam, 'CareTeam') ?? ''),
        referral: referrals.get(idIn(carePlan.basedOn, 'ServiceRequest') ?? ''),
      },
    ];
  });
}
