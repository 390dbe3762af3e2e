import type { CarePlan, CareTeam, EpisodeOfCare, ServiceRequest, Task } from '@medplum/fhirtypes';
import { currentContentsByIds, referrerContents } from '../fhir/search/batch-reads.js';
import type { SqlExecutor } from '../storage/types.js';
import { idIn, type Needs, type PathwayData } from './source.js';

/**
 * One pathway as stored: the JSON text of its CarePlan, Tasks and related resources, for the
 * evaluation worker to parse (a thread reads, the other parses and evaluates). `plan` is the
 * canonical of the PlanDefinition it instantiates, sent once per evaluation beside the batches.
 */
export interface RawPathway {
  carePlan: string;
  tasks: string[];
  episode?: string;
  careTeam?: string;
  referral?: string;
  plan?: string;
}

/**
 * A batch of pathways as `readPathways` reads them (the same queries, rows and order), left as text:
 * only the CarePlans are parsed here, for the ids of what they refer to.
 */
export async function readRawPathways(db: SqlExecutor, ids: string[], needs: Needs): Promise<RawPathway[]> {
  const texts = await currentContentsByIds(db, 'CarePlan', ids);
  const carePlans = new Map([...texts].map(([id, text]) => [id, JSON.parse(text) as CarePlan]));
  const q = { type: 'Task', via: 'based-on', targetType: 'CarePlan', targetIds: [...texts.keys()] };
  const tasks = new Map<string, string[]>([...texts.keys()].map((id) => [id, []]));
  for (const r of await referrerContents(db, needs.allTasks ? q : { ...q, status: 'completed' }))
    tasks.get(r.target)?.push(r.content);
  const plans = [...carePlans.values()];
  const related = (wanted: boolean, type: string, refs: (c: CarePlan) => { reference?: string }[] | undefined) =>
    wanted ? currentContentsByIds(db, type, plans.map((c) => idIn(refs(c), type))) : new Map<string, string>();
  const episodes = await related(needs.episode, 'EpisodeOfCare', (c) => c.supportingInfo);
  const teams = await related(needs.careTeam, 'CareTeam', (c) => c.careTeam);
  const referrals = await related(needs.referral, 'ServiceRequest', (c) => c.basedOn);
  return ids.flatMap((id) => {
    const carePlan = carePlans.get(id);
    if (!carePlan) return [];
    return [
      {
        carePlan: texts.get(id) as string,
        tasks: tasks.get(id) ?? [],
        episode: episodes.get(idIn(carePlan.supportingInfo, 'EpisodeOfCare') ?? ''),
        careTeam: teams.get(idIn(carePlan.careTeam, 'CareTeam') ?? ''),
        referral: referrals.get(idIn(carePlan.basedOn, 'ServiceRequest') ?? ''),
        plan: carePlan.instantiatesCanonical?.[0],
      },
    ];
  });
}

const parsed = <T>(text: string | undefined): T | undefined =>
  text === undefined ? undefined : (JSON.parse(text) as T);

/** A raw pathway parsed: what `readPathways` gives for it. */
export function parsePathway(raw: RawPathway): PathwayData {
  return {
    carePlan: JSON.parse(raw.carePlan) as CarePlan,
    tasks: raw.tasks.map((t) => JSON.parse(t) as Task),
    episode: parsed<EpisodeOfCare>(raw.episode),
    careTeam: parsed<CareTeam>(raw.careTeam),
    referral: parsed<ServiceRequest>(raw.referral),
  };
}
