import { createHash } from 'node:crypto';
import type { Bundle, BundleEntry, CarePlan, Coding, PlanDefinition, EpisodeOfCare, Organization, OperationOutcome, OperationOutcomeIssue, Patient, Procedure, Task } from '@medplum/fhirtypes';
import { FhirError } from '../fhir/errors.js';
import type { Services } from '../fhir/services.js';
import type { SqlExecutor } from '../storage/types.js';
import { addCalendarDays } from '../pathways/calendar.js';
import { EVENT_SYSTEM, nprRules, PATHWAY_ACTION, PATHWAY_SYSTEM } from '../pathways/plan.js';
import { actionOf, planOf } from '../pathways/progress.js';
import { DeadlineRules, enforceNprRules } from '../pathways/rules.js';
import { dateOf, findAll } from '../pathways/search.js';
import { TerminologyContext } from '../terminology/source.js';
import { NO_SYSTEMS } from '../validation/norwegian.js';
import type { ReportPeriod } from './period.js';

const BASE = 'http://forlop.no/fhir';
export const NPR_REPORT = `${BASE}/StructureDefinition/npr-pathway-report`;
export const NPR_PROCEDURE = `${BASE}/StructureDefinition/npr-pathway-procedure`;
export const NPR_REPORT_ID = `${BASE}/NamingSystem/npr-report`;
/** Tags of a stored report: its period and its unit, so `Bundle?_tag=` finds them. */
export const NPR_PERIOD = `${BASE}/CodeSystem/npr-report-period`;
export const NPR_UNIT = `${BASE}/NamingSystem/npr-reporting-unit`;
const COMBINED = 'urn:oid:2.16.578.1.12.4.1.1.9327';
const KODEVERK = 'urn:oid:2.16.578.1.12.4.1.1.8410';
const FEEDBACK = 'urn:oid:2.16.578.1.12.4.1.1.9329';
const ORG_IDS: string[] = [NO_SYSTEMS.ENH, NO_SYSTEMS.RESH];
const PERSON_IDS: string[] = [NO_SYSTEMS.FNR, NO_SYSTEMS.DNR, NO_SYSTEMS.FHN];

export interface BuiltReport {
  bundle: Bundle;
  /** The codes left out, each with its NPR feedback code (Volven 9329). */
  outcome: OperationOutcome;
  counts: { episodes: number; codes: number; problems: number };
}

/** A stable urn:uuid for a report entry made from a Task (the same data give the same report). */
function uuidOf(key: string): string {
  const h = createHash('sha1').update(key).digest('hex');
  return `urn:uuid:${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

async function read<T>(svc: Services, db: SqlExecutor, reference: string | undefined): Promise<T | undefined> {
  const [type, id] = (reference ?? '').split('/');
  if (!type || !id) return undefined;
  const row = await svc.store.current(type, id, db);
  return row?.content && !row.deleted ? (JSON.parse(row.content) as T) : undefined;
}

/** The problem of one recorded code, as the registry would answer it (Volven 9329). */
function problem(code: string, display: string, task: Task, detail: string): OperationOutcomeIssue {
  return {
    severity: 'error',
    code: 'business-rule',
    details: { coding: [{ system: FEEDBACK, code, display }], text: `${detail} (Task/${task.id})` },
    diagnostics: `NPR ${code}: ${display}: ${detail}`,
    expression: [`Task/${task.id}`],
  };
}

/**
 * Builds the registry report of one unit and period (the `npr-pathway-report` profile): every
 * pathway code recorded in the period — a completed milestone Task with an event code, dated in the
 * period — of the pathways the unit manages (their EpisodeOfCare's managingOrganization), as one
 * Procedure each with the combined 9327 code; the unit and each patient once. Each code is checked as
 * NPR would: the combined code must exist (201), the event must have a time (107), the patient a
 * Norwegian person number (100), and the pathway's own NPR rules, as stored in its PlanDefinition,
 * must hold for the events before it. Codes that fail are left out and listed in the OperationOutcome.
 * Reads run in `db` (the report's transaction), so the report is one consistent picture.
 */
export async function buildReport(svc: Services, db: SqlExecutor, period: ReportPeriod, unitId: string): Promise<BuiltReport> {
  const unit = await read<Organization>(svc, db, `Organization/${unitId}`);
  if (!unit) throw new FhirError('not-found', { message: `Organization/${unitId} (the reporting unit) is not known`, expression: 'unit' });
  const unitIdentifier = unit.identifier?.find((i) => ORG_IDS.includes(i.system ?? ''))?.value ?? unitId;
  // candidates overlap the period; the event's date (executionPeriod.end, in Oslo) decides
  const tasks = (
    await findAll<Task>(svc, 'Task', `status=completed&identifier=${encodeURIComponent(`${PATHWAY_ACTION}|`)}&period=ge${period.start}&period=le${period.end}`, db)
  ).filter((t) => {
    const d = dateOf(t.executionPeriod?.end);
    return d === undefined ? dateOf(t.executionPeriod?.start) !== undefined : d >= period.start && d < period.end;
  });
  const byPlan = new Map<string, Task[]>();
  for (const t of tasks) {
    const where = actionOf(t);
    if (!where || !t.code?.coding?.some((c) => c.system === EVENT_SYSTEM)) continue;
    byPlan.set(where.carePlanId, [...(byPlan.get(where.carePlanId) ?? []), t]);
  }
  const ctx = new TerminologyContext(svc.terminology, await svc.terminology.generation());
  const combined = await ctx.codeSystem(COMBINED);
  const rules = new DeadlineRules(svc.clock);
  const patients = new Map<string, Patient>();
  const plans = new Map<string, PlanDefinition | undefined>();
  const procedures: { key: string; entry: BundleEntry }[] = [];
  const issues: OperationOutcomeIssue[] = [];
  let latest = '';
  let episodes = 0;
  for (const [carePlanId, recorded] of [...byPlan].sort(([a], [b]) => a.localeCompare(b))) {
    const carePlan = await read<CarePlan>(svc, db, `CarePlan/${carePlanId}`);
    const episode = await read<EpisodeOfCare>(svc, db, carePlan?.supportingInfo?.find((s) => s.reference?.startsWith('EpisodeOfCare/'))?.reference);
    if (!carePlan || episode?.managingOrganization?.reference !== `Organization/${unitId}`) continue;
    episodes++;
    const type = carePlan.category?.flatMap((c) => c.coding ?? []).find((c) => c.system === PATHWAY_SYSTEM)?.code as string;
    const patient = await read<Patient>(svc, db, carePlan.subject?.reference);
    const canonical = carePlan.instantiatesCanonical?.[0] ?? '';
    if (!plans.has(canonical)) plans.set(canonical, await planOf(svc, canonical));
    const plan = plans.get(canonical);
    // the pathway's Tasks by its reference alone (a status criterion would read every completed Task of the server each time)
    const all = (await findAll<Task>(svc, 'Task', `based-on=${encodeURIComponent(`CarePlan/${carePlanId}`)}`, db)).filter((t) => t.status === 'completed');
    const variables = Object.fromEntries((carePlan.extension?.find((e) => e.url.endsWith('/pathway-context'))?.extension ?? []).map((e) => [e.url, e.valueCode ?? '']));
    for (const task of recorded.sort((a, b) => `${a.executionPeriod?.end}${a.id}`.localeCompare(`${b.executionPeriod?.end}${b.id}`))) {
      const event = task.code?.coding?.find((c) => c.system === EVENT_SYSTEM)?.code as string;
      const outcome = task.output?.flatMap((o) => o.valueCodeableConcept?.coding ?? (o.valueCoding ? [o.valueCoding] : [])).find((c) => c.system?.startsWith('urn:oid:2.16.578.1.12.4.1.1.932'));
      const code = `${type}${event}${outcome?.code ?? ''}`;
      const when = task.executionPeriod?.end;
      if (!patient?.identifier?.some((i) => PERSON_IDS.includes(i.system ?? ''))) {
        issues.push(problem('100', 'Ident-melding ikke mottatt', task, `${carePlan.subject?.reference ?? 'The patient'} has no Norwegian person number`));
        continue;
      }
      if (!when) {
        issues.push(problem('107', 'Prosedyrekoden mangler tidspunkt', task, `${code} has no time (executionPeriod.end)`));
        continue;
      }
      const concept = combined?.get(code);
      if (!concept) {
        issues.push(problem('201', 'Ugyldig kode for PK psykisk helse og rus', task, `${code} is not a code of Volven 9327`));
        continue;
      }
      try {
        const done = all.filter((t) => t.id !== task.id && (dateOf(t.executionPeriod?.end) ?? '') <= (dateOf(when) as string));
        if (plan) enforceNprRules(rules, nprRules(plan, 'complete'), {}, { ...variables, task, done }, 'Task.status');
      } catch (err) {
        const fe = err as FhirError;
        const c = fe.issues?.[0]?.details?.coding?.[0];
        issues.push(problem(c?.code ?? '201', c?.display ?? fe.message, task, `${code} on ${dateOf(when)}`));
        continue;
      }
      patients.set(patient.id as string, patient);
      if ((task.meta?.lastUpdated ?? '') > latest) latest = task.meta?.lastUpdated as string;
      const parts: Coding[] = [
        { system: PATHWAY_SYSTEM, code: type },
        { system: EVENT_SYSTEM, code: event },
        ...(outcome ? [{ system: outcome.system, code: outcome.code }] : []),
      ];
      const procedure: Procedure = {
        resourceType: 'Procedure',
        meta: { profile: [NPR_PROCEDURE] },
        status: 'completed',
        category: { coding: [{ system: KODEVERK, code: 'T', display: 'Pakkeforløp psykisk helse og rus prosedyrekoder' }] },
        code: { coding: [{ system: COMBINED, code, display: concept.display }, ...parts], text: concept.display },
        subject: { reference: `Patient/${patient.id}` },
        basedOn: [{ reference: `CarePlan/${carePlanId}` }],
        performedDateTime: when,
        identifier: [{ system: PATHWAY_ACTION, value: task.identifier?.find((i) => i.system === PATHWAY_ACTION)?.value }],
      };
      procedures.push({ key: `${patient.id}|${carePlanId}|${when}|${task.id}`, entry: { fullUrl: uuidOf(`Task/${task.id}`), resource: procedure } });
    }
  }
  const strip = <T extends { meta?: unknown }>(r: T): T => {
    const { meta: _m, ...rest } = r;
    return rest as T;
  };
  const entry: BundleEntry[] = [
    { fullUrl: `${svc.baseUrl}/Organization/${unitId}`, resource: strip(unit) },
    ...[...patients.values()].sort((a, b) => (a.id as string).localeCompare(b.id as string)).map((p) => ({ fullUrl: `${svc.baseUrl}/Patient/${p.id}`, resource: strip(p) })),
    ...procedures.sort((a, b) => a.key.localeCompare(b.key)).map((p) => p.entry),
  ];
  const id = `npr-${unitId}-${period.label}`.slice(0, 64);
  const bundle: Bundle = {
    resourceType: 'Bundle',
    id,
    meta: {
      profile: [NPR_REPORT],
      tag: [
        { system: NPR_PERIOD, code: period.label, display: `${period.start} – ${addCalendarDays(period.end, -1)}` },
        { system: NPR_UNIT, code: unitIdentifier, display: unit.name },
      ],
    },
    identifier: { system: NPR_REPORT_ID, value: `${unitIdentifier}/${period.label}` },
    type: 'collection',
    timestamp: latest || `${period.start}T00:00:00Z`,
    entry,
  };
  const outcome: OperationOutcome = {
    resourceType: 'OperationOutcome',
    id: `${id}-problems`.slice(0, 64),
    issue: issues.length ? issues : [{ severity: 'information', code: 'informational', diagnostics: `No problems in the ${procedures.length} codes of ${period.label}` }],
  };
  return { bundle, outcome, counts: { episodes, codes: procedures.length, problems: issues.length } };
}

