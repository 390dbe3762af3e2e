import { createHash } from 'node:crypto';
import type {
  BundleEntry,
  Coding,
  OperationOutcomeIssue,
  Patient,
  PlanDefinition,
  Procedure,
  Task,
} from '@medplum/fhirtypes';
import { FhirError } from '../fhir/errors.js';
import type { Services } from '../fhir/services.js';
import type { SqlExecutor } from '../storage/types.js';
import {
  EVENT_SYSTEM,
  NPR_FEEDBACK,
  type NprRule,
  nprRules,
  PATHWAY_ACTION,
  PATHWAY_SYSTEM,
} from '../pathways/plan.js';
import { planOf } from '../pathways/progress.js';
import { DeadlineRules, enforceNprRules } from '../pathways/rules.js';
import { dateOf } from '../pathways/search.js';
import type { CodeSystemIndex } from '../terminology/codesystem.js';
import { TerminologyContext } from '../terminology/source.js';
import { NO_SYSTEMS } from '../validation/norwegian.js';
import type { ReportPeriod } from './period.js';
import { candidates, readEpisodes, type EpisodeData } from './source.js';

const BASE = 'http://forlop.no/fhir';
export const NPR_PROCEDURE = `${BASE}/StructureDefinition/npr-pathway-procedure`;
const COMBINED = 'urn:oid:2.16.578.1.12.4.1.1.9327';
const KODEVERK = 'urn:oid:2.16.578.1.12.4.1.1.8410';
const PERSON_IDS: string[] = [NO_SYSTEMS.FNR, NO_SYSTEMS.DNR, NO_SYSTEMS.FHN];
/** Pathways read from the database at once: a handful of queries per batch instead of per pathway. */
const BATCH = 500;

/** One patient's part of a report: the patient (when a code of theirs is reported), their codes, their problems. */
export interface PatientPart {
  patient?: Patient;
  /** Procedures in report order (CarePlan, time, Task). */
  procedures: BundleEntry[];
  /** The codes left out, each with its NPR feedback code (Volven 9329). */
  issues: OperationOutcomeIssue[];
  /** The pathways of the unit that recorded a code in the period. */
  episodes: number;
  /** The last change (meta.lastUpdated) of the Tasks reported. */
  latest: string;
}

/** A stable urn:uuid for a report entry made from a Task (the same data give the same report). */
function uuidOf(key: string): string {
  const h = createHash('sha1').update(key).digest('hex');
  return `urn:uuid:${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** The problem of one recorded code, as the registry would answer it (Volven 9329). */
function problem(code: string, display: string, task: Task, detail: string): OperationOutcomeIssue {
  return {
    severity: 'error',
    code: 'business-rule',
    details: { coding: [{ system: NPR_FEEDBACK, code, display }], text: `${detail} (Task/${task.id})` },
    diagnostics: `NPR ${code}: ${display}: ${detail}`,
    expression: [`Task/${task.id}`],
  };
}

/** A resource as a report entry: without its meta (versions and times of this server are not reported). */
export function withoutMeta<T extends { meta?: unknown }>(r: T): T {
  const { meta: _m, ...rest } = r;
  return rest as T;
}

/** What stays the same through one report: the code system, the rules, the pathways' definitions. */
interface ReportContext {
  svc: Services;
  unitId: string;
  period: ReportPeriod;
  combined: CodeSystemIndex | undefined;
  rules: DeadlineRules;
  /** Each pathway's definition and its NPR rules on completion, looked up once by canonical. */
  plans: Map<string, { plan: PlanDefinition; rules: NprRule[] } | undefined>;
}

/**
 * The report of one unit and period, patient by patient in the order of their ids: every pathway
 * code recorded in the period — a completed milestone Task with an event code, dated (in Oslo) in the
 * period — of the pathways the unit manages (their EpisodeOfCare's managingOrganization), as one
 * Procedure each with the combined 9327 code. Each code is checked as NPR would: the combined code
 * must exist (201), the event must have a time (107), the patient a Norwegian person number (100),
 * and the pathway's own NPR rules, as stored in its PlanDefinition, must hold for the events before
 * it. Codes that fail are left out and returned as issues. The pathways are read a batch at a time,
 * so memory holds one batch, not the period; reads run in `db` (the report's snapshot), one
 * consistent picture.
 */
export async function* reportParts(
  svc: Services,
  db: SqlExecutor,
  period: ReportPeriod,
  unitId: string,
): AsyncGenerator<PatientPart> {
  const ctx: ReportContext = {
    svc,
    unitId,
    period,
    combined: await new TerminologyContext(svc.terminology, await svc.terminology.generation()).codeSystem(COMBINED),
    rules: new DeadlineRules(svc.clock),
    plans: new Map(),
  };
  const all = await candidates(svc, db, period);
  for (let i = 0; i < all.length;) {
    // a batch ends at a patient's last pathway, so each patient's part is made whole from one batch
    let end = Math.min(i + BATCH, all.length);
    while (end < all.length && all[end].patient === all[end - 1].patient) end++;
    const batch = all.slice(i, end);
    i = end;
    const episodes = await readEpisodes(db, [...new Set(batch.map((c) => c.carePlan))]);
    const rids = new Set(batch.map((c) => c.rid));
    for (const group of groupBy(batch, (c) => c.patient)) {
      const part: PatientPart = { procedures: [], issues: [], episodes: 0, latest: '' };
      for (const carePlanId of new Set(group.map((c) => c.carePlan))) {
        const data = episodes.get(carePlanId);
        if (data) await addEpisode(ctx, part, carePlanId, data, rids);
      }
      if (part.procedures.length || part.issues.length) yield part;
    }
  }
}

function* groupBy<T>(sorted: T[], key: (t: T) => string): Generator<T[]> {
  for (let i = 0; i < sorted.length;) {
    let j = i + 1;
    while (j < sorted.length && key(sorted[j]) === key(sorted[i])) j++;
    yield sorted.slice(i, j);
    i = j;
  }
}

/** One pathway's codes of the period (the Tasks among `rids` dated in it) into the patient's part. */
async function addEpisode(
  ctx: ReportContext,
  part: PatientPart,
  carePlanId: string,
  data: EpisodeData,
  rids: Set<number>,
): Promise<void> {
  const { carePlan, episode, patient } = data;
  if (episode?.managingOrganization?.reference !== `Organization/${ctx.unitId}`) return;
  const recorded = recordedInPeriod(ctx, data, rids);
  if (!recorded.length) return;
  part.episodes++;
  const pathway = {
    carePlanId,
    subject: carePlan.subject?.reference,
    patient,
    type: carePlan.category?.flatMap((c) => c.coding ?? []).find((c) => c.system === PATHWAY_SYSTEM)?.code as string,
    plan: await pathwayRules(ctx, carePlan.instantiatesCanonical?.[0] ?? ''),
    variables: Object.fromEntries(
      (carePlan.extension?.find((e) => e.url.endsWith('/pathway-context'))?.extension ?? []).map((e) => [
        e.url,
        e.valueCode ?? '',
      ]),
    ),
    completed: data.completed.map((c) => c.task),
  };
  const keyOf = (t: Task) => `${t.executionPeriod?.end}${t.id}`;
  for (const task of recorded.sort((a, b) => (keyOf(a) < keyOf(b) ? -1 : keyOf(a) > keyOf(b) ? 1 : 0))) {
    const coded = codeOf(ctx, pathway, task);
    if ('issue' in coded) {
      part.issues.push(coded.issue);
      continue;
    }
    part.patient = patient;
    if ((task.meta?.lastUpdated ?? '') > part.latest) part.latest = task.meta?.lastUpdated as string;
    part.procedures.push({ fullUrl: uuidOf(`Task/${task.id}`), resource: procedureOf(pathway, task, coded) });
  }
}

/** What a pathway's codes share: its type, its patient, its NPR rules and context, its completed Tasks. */
interface PathwayFacts {
  carePlanId: string;
  /** The CarePlan's subject reference, as written. */
  subject?: string;
  patient?: Patient;
  type: string;
  plan?: { plan: PlanDefinition; rules: NprRule[] };
  variables: Record<string, string>;
  completed: Task[];
}

/** A code NPR would take: the combined 9327 code, its concept, and the event and outcome it is made of. */
interface Coded {
  code: string;
  display?: string;
  event: string;
  outcome?: Coding;
  when: string;
}

/** The pathway's Tasks found by the index whose event's own date (executionPeriod.end, in Oslo) is in the period. */
function recordedInPeriod(ctx: ReportContext, data: EpisodeData, rids: Set<number>): Task[] {
  return data.completed
    .filter(({ rid }) => rids.has(rid))
    .map((c) => c.task)
    .filter((t) => {
      if (!t.code?.coding?.some((c) => c.system === EVENT_SYSTEM)) return false;
      const d = dateOf(t.executionPeriod?.end);
      return d === undefined
        ? dateOf(t.executionPeriod?.start) !== undefined
        : d >= ctx.period.start && d < ctx.period.end;
    });
}

/** A pathway's definition and its NPR rules on completion, looked up once per report. */
async function pathwayRules(ctx: ReportContext, canonical: string): Promise<PathwayFacts['plan']> {
  if (!ctx.plans.has(canonical)) {
    const found = await planOf(ctx.svc, canonical);
    ctx.plans.set(canonical, found && { plan: found, rules: nprRules(found, 'complete') });
  }
  return ctx.plans.get(canonical);
}

/**
 * The Task's code as NPR checks it — the person number (100), the time (107), the 9327 code (201) and
 * the pathway's own rules — or its problem.
 */
function codeOf(ctx: ReportContext, pathway: PathwayFacts, task: Task): Coded | { issue: OperationOutcomeIssue } {
  const event = task.code?.coding?.find((c) => c.system === EVENT_SYSTEM)?.code as string;
  const outcome = task.output
    ?.flatMap((o) => o.valueCodeableConcept?.coding ?? (o.valueCoding ? [o.valueCoding] : []))
    .find((c) => c.system?.startsWith('urn:oid:2.16.578.1.12.4.1.1.932'));
  const code = `${pathway.type}${event}${outcome?.code ?? ''}`;
  const when = task.executionPeriod?.end;
  if (!pathway.patient?.identifier?.some((i) => PERSON_IDS.includes(i.system ?? ''))) {
    const who = `${pathway.subject ?? 'The patient'} has no Norwegian person number`;
    return { issue: problem('100', 'Ident-melding ikke mottatt', task, who) };
  }
  if (!when)
    return {
      issue: problem('107', 'Prosedyrekoden mangler tidspunkt', task, `${code} has no time (executionPeriod.end)`),
    };
  const concept = ctx.combined?.get(code);
  if (!concept)
    return {
      issue: problem('201', 'Ugyldig kode for PK psykisk helse og rus', task, `${code} is not a code of Volven 9327`),
    };
  try {
    const done = pathway.completed.filter(
      (t) => t.id !== task.id && (dateOf(t.executionPeriod?.end) ?? '') <= (dateOf(when) as string),
    );
    const { plan, variables } = pathway;
    if (plan) enforceNprRules(ctx.rules, plan.rules, {}, { ...variables, task, done }, 'Task.status');
  } catch (err) {
    const fe = err as FhirError;
    const c = fe.issues?.[0]?.details?.coding?.[0];
    return { issue: problem(c?.code ?? '201', c?.display ?? fe.message, task, `${code} on ${dateOf(when)}`) };
  }
  return { code, display: concept.display, event, outcome, when };
}

/** The report's Procedure for one code (the NPR procedure profile). */
function procedureOf(pathway: PathwayFacts, task: Task, coded: Coded): Procedure {
  const parts: Coding[] = [
    { system: PATHWAY_SYSTEM, code: pathway.type },
    { system: EVENT_SYSTEM, code: coded.event },
    ...(coded.outcome ? [{ system: coded.outcome.system, code: coded.outcome.code }] : []),
  ];
  return {
    resourceType: 'Procedure',
    meta: { profile: [NPR_PROCEDURE] },
    status: 'completed',
    category: {
      coding: [{ system: KODEVERK, code: 'T', display: 'Pakkeforløp psykisk helse og rus prosedyrekoder' }],
    },
    code: { coding: [{ system: COMBINED, code: coded.code, display: coded.display }, ...parts], text: coded.display },
    subject: { reference: `Patient/${pathway.patient?.id}` },
    basedOn: [{ reference: `CarePlan/${pathway.carePlanId}` }],
    performedDateTime: coded.when,
    identifier: [{ system: PATHWAY_ACTION, value: task.identifier?.find((i) => i.system === PATHWAY_ACTION)?.value }],
  };
}
