import type { CarePlan, EpisodeOfCare, Patient, Task } from '@medplum/fhirtypes';
import { paramId } from '../fhir/search/param-id.js';
import { parseSearch } from '../fhir/search/params.js';
import { compileWhere } from '../fhir/search/sql.js';
import type { Services } from '../fhir/services.js';
import { PATHWAY_ACTION } from '../pathways/plan.js';
import { placeholders, type SqlExecutor } from '../storage/types.js';
import type { ReportPeriod } from './period.js';

/** A pathway Task that may hold a code of the period, with its CarePlan and patient (from the index). */
export interface Candidate {
  rid: number;
  carePlan: string;
  patient: string;
}

/** One pathway with what the report needs of it, read in one batch with others. */
export interface EpisodeData {
  carePlan: CarePlan;
  episode?: EpisodeOfCare;
  patient?: Patient;
  /** The pathway's completed Tasks with their row ids (the NPR rules look at what was done before a code). */
  completed: { rid: number; task: Task }[];
}

/**
 * The candidates of a period, ordered by patient, then CarePlan, then Task: completed pathway Tasks
 * whose period overlaps it (the caller decides on the event's own date), each with the CarePlan it is
 * based on and that CarePlan's subject — one query over the search index, no resource read. The order
 * lets the report be built patient by patient, a batch at a time, without holding the period in memory:
 * this list holds ids only.
 */
export async function candidates(svc: Services, db: SqlExecutor, period: ReportPeriod): Promise<Candidate[]> {
  const criteria = `status=completed&identifier=${encodeURIComponent(`${PATHWAY_ACTION}|`)}&period=ge${period.start}&period=le${period.end}`;
  const req = parseSearch(svc.defs, 'Task', [...new URLSearchParams(criteria)], { defaultCount: 1, maxCount: 1 }, true);
  const where = compileWhere(req, svc.baseUrl, svc.clock.now().getTime());
  // unary + keeps SQLite from looking the subject up through the (param, …) index, row by row over every CarePlan
  const rows = await db.all<{ rid: number | string; care_plan: string; patient: string }>(
    `SELECT r.rid AS rid, b.target_id AS care_plan, s.target_id AS patient
       FROM resources r
       JOIN sp_reference b ON b.rid = r.rid AND b.param = ? AND b.target_type = 'CarePlan'
       JOIN resources c ON c.type = 'CarePlan' AND c.id = b.target_id AND c.deleted = 0
       JOIN sp_reference s ON s.rid = c.rid AND +s.param = ? AND s.target_type = 'Patient'
      WHERE ${where.sql}
      ORDER BY s.target_id, b.target_id, r.rid`,
    [paramId('Task', 'based-on'), paramId('CarePlan', 'subject'), ...where.params],
  );
  return rows.map((r) => ({ rid: Number(r.rid), carePlan: r.care_plan, patient: r.patient }));
}

/** The current, not deleted, resources of one type with these ids. */
async function byIds<T>(db: SqlExecutor, type: string, ids: string[]): Promise<Map<string, T>> {
  const unique = [...new Set(ids)];
  const out = new Map<string, T>();
  if (!unique.length) return out;
  const rows = await db.all<{ id: string; content: string }>(
    `SELECT id, content FROM resources WHERE type = ? AND deleted = 0 AND id IN (${placeholders(unique)})`,
    [type, ...unique],
  );
  for (const r of rows) out.set(r.id, JSON.parse(r.content) as T);
  return out;
}

const idOf = (reference: string | undefined, type: string) =>
  reference?.startsWith(`${type}/`) ? reference.slice(type.length + 1) : undefined;

/**
 * A batch of pathways read at once (four queries, whatever the batch's size): their CarePlans,
 * EpisodeOfCares, patients and completed Tasks. Reads run in `db`, the report's snapshot.
 */
export async function readEpisodes(db: SqlExecutor, carePlanIds: string[]): Promise<Map<string, EpisodeData>> {
  const carePlans = await byIds<CarePlan>(db, 'CarePlan', carePlanIds);
  const episodeOf = (c: CarePlan) =>
    (c.supportingInfo ?? []).map((s) => idOf(s.reference, 'EpisodeOfCare')).find(Boolean);
  const episodes = await byIds<EpisodeOfCare>(
    db,
    'EpisodeOfCare',
    [...carePlans.values()].map(episodeOf).filter((id): id is string => Boolean(id)),
  );
  const patients = await byIds<Patient>(
    db,
    'Patient',
    [...carePlans.values()].map((c) => idOf(c.subject?.reference, 'Patient')).filter((id): id is string => Boolean(id)),
  );
  const ids = [...carePlans.keys()];
  // The pathway's completed Tasks: their rids from the index alone (the references, then the status
  // row, from the covering (param, code, system, rid) index: a `code` has no system), and only then
  // their rows. MATERIALIZED keeps the planner from reading every Task row before its status.
  const tasks = ids.length
    ? await db.all<{ care_plan: string; rid: number | string; content: string }>(
        `WITH done AS MATERIALIZED (
           SELECT b.target_id AS care_plan, b.rid AS rid FROM sp_reference b
            WHERE b.param = ? AND b.target_type = 'CarePlan' AND b.target_id IN (${placeholders(ids)})
              AND EXISTS (SELECT 1 FROM sp_token t WHERE t.param = ? AND t.code = 'completed' AND t.system IS NULL AND t.rid = b.rid))
         SELECT done.care_plan AS care_plan, r.rid AS rid, r.content AS content FROM done JOIN resources r ON r.rid = done.rid
          ORDER BY r.rid`,
        [paramId('Task', 'based-on'), ...ids, paramId('Task', 'status')],
      )
    : [];
  const out = new Map<string, EpisodeData>();
  for (const [id, carePlan] of carePlans) {
    const episodeId = episodeOf(carePlan);
    out.set(id, {
      carePlan,
      episode: episodeId ? episodes.get(episodeId) : undefined,
      patient: patients.get(idOf(carePlan.subject?.reference, 'Patient') ?? ''),
      completed: [],
    });
  }
  for (const t of tasks)
    out.get(t.care_plan)?.completed.push({ rid: Number(t.rid), task: JSON.parse(t.content) as Task });
  return out;
}
