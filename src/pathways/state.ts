import type { CarePlan, DetectedIssue, EpisodeOfCare, PlanDefinition, Resource, Task } from '@medplum/fhirtypes';
import type { Services } from '../fhir/services.js';
import { sameContent } from '../fhir/same-content.js';
import type { Tx } from '../storage/types.js';
import { PATHWAY_ACTION, PATHWAY_CONTEXT } from './plan.js';
import { deadlineStatus } from './deadlines.js';
import { findAll } from './search.js';

/** The Task's pathway action: `[CarePlan id]/[action id]` from its identifier. */
export function actionOf(task: Task): { carePlanId: string; actionId: string } | undefined {
  const value = task.identifier?.find((i) => i.system === PATHWAY_ACTION)?.value;
  const slash = value?.lastIndexOf('/') ?? -1;
  return value && slash > 0 ? { carePlanId: value.slice(0, slash), actionId: value.slice(slash + 1) } : undefined;
}

/** The PlanDefinition a canonical (`url|version`) names, among those stored (shared: do not change it). */
export function planOf(svc: Services, canonical: string | undefined): Promise<PlanDefinition | undefined> {
  return svc.plans.plan(canonical);
}

/** What the time limits' conditions read: the CarePlan's setting and severity (`%setting`, `%severity`). */
export function contextOf(carePlan: CarePlan): Record<string, string> {
  const context = carePlan.extension?.find((e) => e.url === PATHWAY_CONTEXT)?.extension ?? [];
  return Object.fromEntries(context.map((e) => [e.url, e.valueCode ?? '']));
}

/** How much of a pathway to read (see PathwayState.load). */
export interface LoadOptions {
  /** Read the PlanDefinition too. */
  plan?: boolean;
  /** Today in Oslo: read the breaches only if a milestone is or was breached (the scheduled evaluation). */
  today?: string;
}

const BREACHED = new Set(['overdue', 'missed']);

/** Whether a milestone's stored standing, or the one today gives it, is a breach (due-soon does not matter). */
function breachedOrWas(task: Task, today: string): boolean {
  return (
    BREACHED.has(task.businessStatus?.coding?.[0]?.code ?? '') || BREACHED.has(deadlineStatus(task, today, 0).status)
  );
}

/**
 * One pathway as it stands in a transaction — its CarePlan, PlanDefinition, milestones, EpisodeOfCare and
 * breaches — changed in memory by progress, the lifecycle and evaluation; `changes()` gives what differs
 * from what was read, as whole resources for the write loop to store.
 */
export class PathwayState {
  private readonly read = new Map<string, Resource>();

  private constructor(
    public carePlan: CarePlan,
    readonly plan: PlanDefinition | undefined,
    public tasks: Task[],
    public episode: EpisodeOfCare | undefined,
    public breaches: DetectedIssue[],
  ) {
    for (const r of [carePlan, episode, ...tasks, ...breaches])
      if (r) this.read.set(`${r.resourceType}/${r.id}`, structuredClone(r));
  }

  /**
   * The pathway of a CarePlan, read in `tx` (which sees the write being reacted to); none if it is not one.
   * The PlanDefinition is read only when asked for (a completion needs its rules; evaluation does not). The
   * breaches are read always after a client's write (it may withdraw one), and for the schedule only when a
   * milestone stands or stood breached: standings are kept with every write, so a pathway none of whose
   * milestones is or was overdue or missed has no breach to find.
   */
  static async load(
    svc: Services,
    tx: Tx,
    carePlanId: string,
    opts: LoadOptions = {},
  ): Promise<PathwayState | undefined> {
    const row = await svc.store.current('CarePlan', carePlanId, tx);
    if (!row?.content || row.deleted) return undefined;
    const carePlan = JSON.parse(row.content) as CarePlan;
    if (!carePlan.instantiatesCanonical?.length) return undefined;
    const plan = opts.plan ? await planOf(svc, carePlan.instantiatesCanonical[0]) : undefined;
    const tasks = await findAll<Task>(svc, 'Task', `based-on=CarePlan/${carePlanId}`, tx);
    const look = !opts.today || tasks.some((t) => breachedOrWas(t, opts.today as string));
    const implicated = `implicated=CarePlan/${carePlanId}`;
    const breaches = look ? await findAll<DetectedIssue>(svc, 'DetectedIssue', implicated, tx) : [];
    const episodeRef = carePlan.supportingInfo?.find((r) => r.reference?.startsWith('EpisodeOfCare/'))?.reference;
    const episodeRow = episodeRef ? await svc.store.current('EpisodeOfCare', episodeRef.split('/')[1], tx) : undefined;
    const episode =
      episodeRow?.content && !episodeRow.deleted ? (JSON.parse(episodeRow.content) as EpisodeOfCare) : undefined;
    return new PathwayState(carePlan, plan, tasks, episode, breaches);
  }

  get variables(): Record<string, string> {
    return contextOf(this.carePlan);
  }

  /** Replaces a milestone by its new version (in memory). */
  setTask(task: Task): void {
    this.tasks = this.tasks.map((t) => (t.id === task.id ? task : t));
  }

  /** The resources that differ from what was read, and the breaches made new. */
  changes(): Resource[] {
    const all: Resource[] = [this.carePlan, ...(this.episode ? [this.episode] : []), ...this.tasks, ...this.breaches];
    return all.filter((r) => {
      const before = this.read.get(`${r.resourceType}/${r.id}`);
      return !before || !sameContent(before, r);
    });
  }
}
