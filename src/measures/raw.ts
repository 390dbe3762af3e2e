import type { CarePlan, CareTeam, EpisodeOfCare, ServiceRequest, Task } from '@medplum/fhirtypes';
import { currentContentsByIds, currentContentsWithElements, referrerContents } from '../fhir/search/batch-reads.js';
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

/** What this thread reads of a CarePlan: the elements naming its related resources and its PlanDefinition. */
type Links = Pick<CarePlan, 'supportingInfo' | 'careTeam' | 'basedOn' | 'instantiatesCanonical'>;
const LINKS = ['supportingInfo', 'careTeam', 'basedOn', 'instantiatesCanonical'] as const;

/**
 * The CarePlans as stored, with their links: the database takes the four elements out (a fraction of
 * parsing each whole CarePlan here, which the worker does anyway); a value that is not the JSON
 * array R4 makes it is read from the whole CarePlan instead.
 */
async function carePlansWithLinks(
  db: SqlExecutor,
  kind: 'sqlite' | 'postgres',
  ids: string[],
): Promise<Map<string, { text: string; links: Links }>> {
  const out = new Map<string, { text: string; links: Links }>();
  for (const [id, row] of await currentContentsWithElements(db, kind, 'CarePlan', ids, LINKS)) {
    let links: Links = {};
    try {
      row.elements.forEach((e, i) => {
        const value: unknown = e === null ? undefined : JSON.parse(e);
        if (value !== undefined && !Array.isArray(value)) throw new TypeError('not an array');
        if (value !== undefined) (links as Record<string, unknown>)[LINKS[i]] = value;
      });
    } catch {
      links = JSON.parse(row.content) as CarePlan;
    }
    out.set(id, { text: row.content, links });
  }
  return out;
}

/**
 * A batch of pathways as `readPathways` reads them (the same rows, in the same order), left as
 * text: only the CarePlans' links are read here, for the ids of what they refer to.
 */
export async function readRawPathways(
  db: SqlExecutor,
  kind: 'sqlite' | 'postgres',
  ids: string[],
  needs: Needs,
): Promise<RawPathway[]> {
  const carePlans = await carePlansWithLinks(db, kind, ids);
  const q = { type: 'Task', via: 'based-on', targetType: 'CarePlan', targetIds: [...carePlans.keys()] };
  const tasks = new Map<string, string[]>([...carePlans.keys()].map((id) => [id, []]));
  for (const r of await referrerContents(db, needs.allTasks ? q : { ...q, status: 'completed' }))
    tasks.get(r.target)?.push(r.content);
  const links = [...carePlans.values()].map((c) => c.links);
  const related = (wanted: boolean, type: string, refs: (c: Links) => { reference?: string }[] | undefined) =>
    wanted ? currentContentsByIds(db, type, links.map((c) => idIn(refs(c), type))) : new Map<string, string>();
  const episodes = await related(needs.episode, 'EpisodeOfCare', (c) => c.supportingInfo);
  const teams = await related(needs.careTeam, 'CareTeam', (c) => c.careTeam);
  const referrals = await related(needs.referral, 'ServiceRequest', (c) => c.basedOn);
  return ids.flatMap((id) => {
    const carePlan = carePlans.get(id);
    if (!carePlan) return [];
    const l = carePlan.links;
    return [
      {
        carePlan: carePlan.text,
        tasks: tasks.get(id) ?? [],
        episode: episodes.get(idIn(l.supportingInfo, 'EpisodeOfCare') ?? ''),
        careTeam: teams.get(idIn(l.careTeam, 'CareTeam') ?? ''),
        referral: referrals.get(idIn(l.basedOn, 'ServiceRequest') ?? ''),
        plan: l.instantiatesCanonical?.[0],
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
