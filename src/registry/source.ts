import type { CarePlan, EpisodeOfCare, Patient, Task } from '@medplum/fhirtypes';
import { currentByIds, matchesWithChain, referrersOf, type Hop } from '../fhir/search/batch-reads.js';
import type { Services } from '../fhir/services.js';
import { PATHWAY_ACTION } from '../pathways/plan.js';
import type { SqlExecutor } from '../storage/types.js';
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
  const query: [string, string][] = [
    ['status', 'completed'],
    ['identifier', `${PATHWAY_ACTION}|`],
    ['period', `ge${period.start}`],
    ['period', `le${period.end}`],
  ];
  const hops: [Hop, Hop] = [
    { type: 'Task', param: 'based-on', targetType: 'CarePlan' },
    { type: 'CarePlan', param: 'subject', targetType: 'Patient' },
  ];
  const rows = await matchesWithChain(svc, 'Task', query, hops, db);
  return rows.map((r) => ({ rid: r.rid, carePlan: r.targets[0], patient: r.targets[1] }));
}

const idOf = (reference: string | undefined, type: string) =>
  reference?.startsWith(`${type}/`) ? reference.slice(type.length + 1) : undefined;

/**
 * A batch of pathways read at once (four queries, whatever the batch's size): their CarePlans,
 * EpisodeOfCares, patients and completed Tasks. Reads run in `db`, the report's snapshot.
 */
export async function readEpisodes(db: SqlExecutor, carePlanIds: string[]): Promise<Map<string, EpisodeData>> {
  const carePlans = await currentByIds<CarePlan>(db, 'CarePlan', carePlanIds);
  const episodeOf = (c: CarePlan) =>
    (c.supportingInfo ?? []).map((s) => idOf(s.reference, 'EpisodeOfCare')).find(Boolean);
  const plans = [...carePlans.values()];
  const episodes = await currentByIds<EpisodeOfCare>(db, 'EpisodeOfCare', plans.map(episodeOf));
  const patients = await currentByIds<Patient>(
    db,
    'Patient',
    plans.map((c) => idOf(c.subject?.reference, 'Patient')),
  );
  const targetIds = [...carePlans.keys()];
  const completed = { type: 'Task', via: 'based-on', targetType: 'CarePlan', targetIds, status: 'completed' };
  const tasks = await referrersOf<Task>(db, completed);
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
  for (const t of tasks) out.get(t.target)?.completed.push({ rid: t.rid, task: t.resource });
  return out;
}
