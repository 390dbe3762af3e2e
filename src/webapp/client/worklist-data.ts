import type {
  CarePlan,
  CareTeam,
  DetectedIssue,
  Organization,
  Patient,
  Practitioner,
  Reference,
  Resource,
  Task,
} from '@medplum/fhirtypes';
import { calendarDaysBetween, osloDate, workingDaysBetween } from '../../pathways/calendar.js';
import { DUE_SOON_DAYS } from '../../pathways/due-soon.js';
import { byReference, OutcomeError, type Fhir } from './fhir.js';
import { maskFnr, type Standing } from './format.js';
import { nameOf, FNR_SYSTEMS } from './people.js';

/** One open pathway on the worklist. */
export interface Row {
  carePlan: string;
  patient: string;
  patientName: string;
  fnr: string;
  pathway: string;
  pathwayTitle: string;
  next: string;
  due?: string;
  daysLeft?: number;
  workingDaysLeft?: number;
  standing: Standing;
  coordinator: string;
  coordinatorRef?: string;
  unit?: string;
  unitName: string;
  members: string[];
  /** Whether the signed-in person (by HPR number) is in the pathway's care team; unknown without one. */
  mine?: boolean;
}

export interface Worklist {
  rows: Row[];
  today: string;
  units: Map<string, string>;
}

const OPEN_TASK = 'requested,received,accepted,ready,in-progress,on-hold';
/** HPR-nummer, the Health Personnel Register's number (../shared/domain: Practitioner slice `HPR`). */
export const HPR_SYSTEM = 'urn:oid:2.16.578.1.12.4.1.4.4';

/**
 * "My patients" by HPR number: the active CarePlans whose care team has a participant Practitioner
 * with this HPR number — one chained search (CarePlan `care-team` → CareTeam `participant` →
 * Practitioner `identifier`), the server's join, so no care team or practitioner is fetched for it.
 */
export const myPlansQuery = (hpr: string) =>
  `CarePlan?status=active&care-team.participant:Practitioner.identifier=${encodeURIComponent(`${HPR_SYSTEM}|${hpr}`)}` +
  '&_elements=id&_count=1000';
const COORDINATOR = /^coordinator/;

/** The milestone due first among a pathway's open ones. */
function nextDue(tasks: Task[]): Map<string, Task> {
  const next = new Map<string, Task>();
  for (const t of tasks) {
    const due = t.restriction?.period?.end;
    const plan = t.basedOn?.[0]?.reference;
    if (!due || !plan) continue;
    const had = next.get(plan)?.restriction?.period?.end;
    if (!had || due < had) next.set(plan, t);
  }
  return next;
}

/** Fetches resources by id in chunks (`Type?_id=a,b,…`). */
async function byIds<T extends Practitioner | Organization>(fhir: Fhir, type: string, refs: Set<string>) {
  const ids = [...refs].filter((r) => r.startsWith(`${type}/`)).map((r) => r.slice(type.length + 1));
  const out: T[] = [];
  for (let i = 0; i < ids.length; i += 100) {
    out.push(...(await fhir.searchAll<T>(`${type}?_id=${ids.slice(i, i + 100).join(',')}&_count=100`)));
  }
  return byReference(out);
}

/**
 * The active CarePlans with their patients and care teams. The server refuses a page whose includes
 * exceed its `_count` limit (MAX_COUNT, 1,000 by default): 300 a page stays under it; a server with a lower
 * limit says `too-costly`, and the pages are halved until it answers.
 */
async function activePlans(fhir: Fhir, count: number): Promise<Resource[]> {
  const path = `CarePlan?status=active&_count=${count}&_include=CarePlan:subject&_include=CarePlan:care-team`;
  try {
    return await fhir.searchAll(path);
  } catch (e) {
    const costly = e instanceof OutcomeError && e.outcome?.issue?.some((i) => i.code === 'too-costly');
    if (costly && count > 10) return activePlans(fhir, Math.floor(count / 2));
    throw e;
  }
}

export function standingOf(due: string | undefined, today: string, breached: boolean): Standing {
  if (breached) return 'breached';
  if (!due) return 'on-time';
  if (today > due) return 'overdue';
  return calendarDaysBetween(today, due) <= DUE_SOON_DAYS ? 'due-soon' : 'on-time';
}

/**
 * The open pathways the token may see, each with its next milestone and its standing: the active
 * CarePlans (with their patients and care teams), the open milestones with a due date, the breaches
 * that stand, then the coordinators and units named.
 */
export async function loadWorklist(fhir: Fhir): Promise<Worklist> {
  const hpr = fhir.session.hprNumber;
  const [found, tasks, breaches, mine] = await Promise.all([
    activePlans(fhir, 300),
    fhir.searchAll<Task>(`Task?status=${OPEN_TASK}&due=ge1900-01-01&_count=1000&_elements=basedOn,restriction`),
    fhir.searchAll<DetectedIssue>('DetectedIssue?status=final&_count=1000&_elements=implicated'),
    hpr ? fhir.searchAll<CarePlan>(myPlansQuery(hpr)) : undefined,
  ]);
  const myPlans = mine && new Set(mine.map((p) => p.id));
  const today = osloDate(fhir.serverNow ?? new Date());
  const refs = byReference(found);
  const plans = found.filter((r): r is CarePlan => r.resourceType === 'CarePlan');
  const breached = new Set(breaches.flatMap((b) => (b.implicated ?? []).map((i) => i.reference)));
  const next = nextDue(tasks);
  const teams = plans.map((p) => refs.get(p.careTeam?.[0]?.reference ?? '') as CareTeam | undefined);
  const people = new Set(teams.flatMap((t) => (t?.participant ?? []).map((p) => p.member?.reference ?? '')));
  const orgs = new Set(teams.map((t) => t?.managingOrganization?.[0]?.reference ?? ''));
  const [practitioners, units] = await Promise.all([
    byIds<Practitioner>(fhir, 'Practitioner', people),
    byIds<Organization>(fhir, 'Organization', orgs),
  ]);
  const cache = new Map<string, [number, number]>();
  const daysTo = (due: string) => {
    if (!cache.has(due)) cache.set(due, [calendarDaysBetween(today, due), workingDaysBetween(today, due)]);
    return cache.get(due) as [number, number];
  };
  const rows = plans.map((plan, i) => {
    const team = teams[i];
    const patient = refs.get(plan.subject?.reference ?? '') as Patient | undefined;
    const task = next.get(`CarePlan/${plan.id}`);
    const due = task?.restriction?.period?.end?.slice(0, 10);
    const coordinator = team?.participant?.find((p) =>
      p.role?.some((r) => r.coding?.some((c) => COORDINATOR.test(c.code ?? ''))),
    )?.member;
    const unit = team?.managingOrganization?.[0]?.reference;
    const [daysLeft, workingDaysLeft] = due ? daysTo(due) : [undefined, undefined];
    const row: Row = {
      carePlan: plan.id as string,
      patient: plan.subject?.reference ?? '',
      patientName: patient ? nameOf(patient) : (plan.subject?.display ?? ''),
      fnr: maskFnr(patient?.identifier?.find((x) => FNR_SYSTEMS.includes(x.system ?? ''))?.value),
      pathway: plan.category?.[0]?.coding?.[0]?.code ?? '',
      pathwayTitle: plan.title ?? '',
      next: task ? activityName(plan, task) : '',
      due,
      daysLeft,
      workingDaysLeft,
      standing: standingOf(due, today, breached.has(`CarePlan/${plan.id}`)),
      coordinator: coordinator ? personName(practitioners.get(coordinator.reference ?? ''), coordinator) : '',
      coordinatorRef: coordinator?.reference,
      unit,
      unitName: unit ? (units.get(unit)?.name ?? unit) : '',
      members: (team?.participant ?? []).map((p) => p.member?.reference ?? ''),
      mine: myPlans?.has(plan.id),
    };
    return row;
  });
  const unitNames = new Map(rows.filter((r) => r.unit).map((r) => [r.unit as string, r.unitName]));
  return { rows, today, units: unitNames };
}

/** The milestone's name: the CarePlan's activity display for it (the Task was read with few elements). */
function activityName(plan: CarePlan, task: Task): string {
  const ref = `Task/${task.id}`;
  return plan.activity?.find((a) => a.reference?.reference === ref)?.reference?.display ?? ref;
}

function personName(p: Practitioner | undefined, ref: Reference): string {
  return p ? nameOf(p) : (ref.display ?? ref.reference ?? '');
}
