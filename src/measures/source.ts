import type { CarePlan, CareTeam, EpisodeOfCare, ServiceRequest, Task } from '@medplum/fhirtypes';
import { paramId } from '../fhir/search/param-id.js';
import { parseSearch } from '../fhir/search/params.js';
import { compileWhere } from '../fhir/search/sql.js';
import type { Services } from '../fhir/services.js';
import { addCalendarDays } from '../pathways/calendar.js';
import { PATHWAY_SYSTEM } from '../pathways/plan.js';
import { placeholders, type SqlExecutor } from '../storage/types.js';
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
 * period is Oslo dates.
 */
export async function candidateIds(
  svc: Services,
  db: SqlExecutor,
  period: MeasurementPeriod,
  patient?: string,
): Promise<string[]> {
  const query: [string, string][] = [
    ['category', `${PATHWAY_SYSTEM}|`],
    ['date', `ge${addCalendarDays(period.start, -1)}`],
    ['date', `le${addCalendarDays(period.end, 1)}`],
    ...(patient ? [['subject', `Patient/${patient}`] as [string, string]] : []),
  ];
  const req = parseSearch(svc.defs, 'CarePlan', query, { defaultCount: 1, maxCount: 1 }, true);
  const where = compileWhere(req, svc.baseUrl, svc.clock.now().getTime());
  const rows = await db.all<{ id: string }>(
    `SELECT r.id AS id FROM resources r WHERE ${where.sql} ORDER BY r.id`,
    where.params,
  );
  return rows.map((r) => r.id);
}

/** The current, not deleted, resources of one type with these ids. */
async function byIds<T>(db: SqlExecutor, type: string, ids: (string | undefined)[]): Promise<Map<string, T>> {
  const unique = [...new Set(ids.filter((id): id is string => Boolean(id)))];
  const out = new Map<string, T>();
  if (!unique.length) return out;
  const sql = `SELECT id, content FROM resources WHERE type = ? AND deleted = 0 AND id IN (${placeholders(unique)})`;
  for (const r of await db.all<{ id: string; content: string }>(sql, [type, ...unique]))
    out.set(r.id, JSON.parse(r.content) as T);
  return out;
}

const idIn = (refs: { reference?: string }[] | undefined, type: string) =>
  refs
    ?.map((r) => r.reference)
    .find((r) => r?.startsWith(`${type}/`))
    ?.slice(type.length + 1);

/**
 * The Tasks of these CarePlans (via the `based-on` index), by CarePlan, in stored order: every one, or
 * only the completed ones — found from the index alone, the status row by the covering (param, code,
 * system, rid) index, so the others' rows are never read.
 */
async function tasksOf(db: SqlExecutor, ids: string[], all: boolean): Promise<Map<string, Task[]>> {
  const out = new Map<string, Task[]>(ids.map((id) => [id, []]));
  if (!ids.length) return out;
  const completed = `AND EXISTS (SELECT 1 FROM sp_token t
                     WHERE t.param = ? AND t.code = 'completed' AND t.system IS NULL AND t.rid = b.rid)`;
  const rows = await db.all<{ care_plan: string; content: string }>(
    `SELECT b.target_id AS care_plan, r.content AS content
       FROM sp_reference b JOIN resources r ON r.rid = b.rid AND r.deleted = 0
      WHERE b.param = ? AND b.target_type = 'CarePlan' AND b.target_id IN (${placeholders(ids)})
            ${all ? '' : completed}
      ORDER BY r.rid`,
    [paramId('Task', 'based-on'), ...ids, ...(all ? [] : [paramId('Task', 'status')])],
  );
  for (const r of rows) out.get(r.care_plan)?.push(JSON.parse(r.content) as Task);
  return out;
}

/**
 * A batch of pathways read at once (two to five queries, whatever the batch's size): their CarePlans
 * and Tasks, and the EpisodeOfCares, CareTeams and referrals when `needs` says so. Reads run in `db`,
 * the evaluation's snapshot. In the order of `ids`.
 */
export async function readPathways(db: SqlExecutor, ids: string[], needs: Needs): Promise<PathwayData[]> {
  const carePlans = await byIds<CarePlan>(db, 'CarePlan', ids);
  const plans = [...carePlans.values()];
  const tasks = await tasksOf(db, [...carePlans.keys()], needs.allTasks);
  const none = new Map<string, never>();
  const episodes = needs.episode
    ? await byIds<EpisodeOfCare>(
        db,
        'EpisodeOfCare',
        plans.map((c) => idIn(c.supportingInfo, 'EpisodeOfCare')),
      )
    : none;
  const teams = needs.careTeam
    ? await byIds<CareTeam>(
        db,
        'CareTeam',
        plans.map((c) => idIn(c.careTeam, 'CareTeam')),
      )
    : none;
  const referrals = needs.referral
    ? await byIds<ServiceRequest>(
        db,
        'ServiceRequest',
        plans.map((c) => idIn(c.basedOn, 'ServiceRequest')),
      )
    : none;
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
