import type { CarePlan, Patient, PlanDefinition, Resource } from '@medplum/fhirtypes';
import { FhirError } from '../fhir/errors.js';
import { applyChanges } from '../fhir/interactions/reactions.js';
import { create } from '../fhir/interactions/write.js';
import { operationInput } from '../fhir/operations/parameters.js';
import type { Operation } from '../fhir/operations/types.js';
import type { Services } from '../fhir/services.js';
import type { Tx } from '../storage/types.js';
import { applyPlan, type Applied, type ApplyInput } from './apply.js';
import { osloDate } from './calendar.js';
import { evaluatePathway } from './evaluate.js';
import { ageOf } from './age.js';
import { nprRules, PATHWAY_SYSTEM, pathwayCode, timeLimits } from './plan.js';
import { findAll } from './search.js';
import { DeadlineRules, enforceNprRules } from './rules.js';
import { PathwayState } from './state.js';

const SETTINGS = new Set(['AMB', 'IMP']);

function one(input: Map<string, unknown[]>, name: string): unknown {
  const values = input.get(name) ?? [];
  if (values.length > 1) throw new FhirError('invalid', { message: `Give one ${name}`, expression: name });
  return values[0];
}

function reference(input: Map<string, unknown[]>, name: string, types: string[]): string | undefined {
  const v = one(input, name);
  if (v === undefined) return undefined;
  const ref = typeof v === 'string' ? v : (v as { reference?: string }).reference;
  if (!ref || !new RegExp(`^(${types.join('|')})/[A-Za-z0-9\\-.]{1,64}$`).test(ref)) {
    throw new FhirError('invalid', {
      message: `${name} must be a reference to a ${types.join(' or ')} (Type/id)`,
      expression: name,
    });
  }
  return ref;
}

/** `setting` as a code (AMB | IMP) or a CodeableConcept with a v3-ActCode coding; outpatient when absent. */
function settingOf(v: unknown): 'AMB' | 'IMP' {
  if (v === undefined) return 'AMB';
  const code = typeof v === 'string' ? v : (v as { coding?: { code?: string }[] }).coding?.[0]?.code;
  if (!code || !SETTINGS.has(code))
    throw new FhirError('invalid', { message: 'setting is AMB (poliklinikk) or IMP (døgn)', expression: 'setting' });
  return code as 'AMB' | 'IMP';
}

async function mustExist(svc: Services, ref: string | undefined, name: string): Promise<void> {
  if (!ref) return;
  const [type, id] = ref.split('/');
  const row = await svc.store.current(type, id);
  if (!row || row.deleted)
    throw new FhirError('unprocessable', { message: `${ref} is not known here`, expression: name });
}

/** The unit that reports the pathway to NPR: the one asked for, or the server's default; never none. */
function unitOf(svc: Services, input: Map<string, unknown[]>): string {
  const unit = reference(input, 'organization', ['Organization']) ?? svc.pathwayDefaultUnit;
  if (unit) return unit;
  throw new FhirError('invalid', {
    message:
      'organization (the unit that reports the pathway to NPR, Organization/id) is required: no default unit is configured',
    code: 'required',
    expression: 'organization',
  });
}

function readInput(svc: Services, plan: PlanDefinition, input: Map<string, unknown[]>): ApplyInput {
  const subject = reference(input, 'subject', ['Patient']);
  if (!subject)
    throw new FhirError('invalid', { message: 'subject (the patient, Patient/id) is required', expression: 'subject' });
  const today = osloDate(svc.clock.now());
  const start = (one(input, 'start') as string | undefined) ?? today;
  if (!/^\d{4}-\d{2}-\d{2}$/.test(start) || Number.isNaN(Date.parse(start))) {
    throw new FhirError('invalid', {
      message: `start must be a date (YYYY-MM-DD), not '${start}'`,
      expression: 'start',
    });
  }
  if (start > today) {
    throw new FhirError('invalid', {
      message: `start ${start} is after today (${today}, Europe/Oslo): a pathway starts when the referral is received`,
      expression: 'start',
    });
  }
  const severity = one(input, 'severity') as string | undefined;
  const needsSeverity = (plan.action ?? []).some((a) => timeLimits(a).some((l) => l.condition?.includes('%severity')));
  if (needsSeverity && !severity) {
    throw new FhirError('invalid', {
      message: "This pathway's time limits depend on severity: alvorlig or mindre-alvorlig",
      expression: 'severity',
    });
  }
  return {
    subject,
    start,
    setting: settingOf(one(input, 'setting')),
    severity,
    practitioner: reference(input, 'practitioner', ['Practitioner', 'PractitionerRole']),
    organization: unitOf(svc, input),
    encounter: reference(input, 'encounter', ['Encounter']),
    referral: reference(input, 'referral', ['ServiceRequest']),
    emergency: one(input, 'emergency') === 'true' || one(input, 'emergency') === true,
  };
}

/**
 * NPR's rules on registration (age for D12, one open pathway: 224), and no second open pathway of the
 * same type (409: a retried `$apply` must not start the pathway twice; D06 may run beside another type).
 */
async function checkRegistration(
  svc: Services,
  tx: Tx,
  plan: PlanDefinition,
  patient: Patient,
  input: ApplyInput,
): Promise<string | undefined> {
  const pathways = await findAll<CarePlan>(svc, 'CarePlan', `subject=${input.subject}&status=active`, tx);
  const open = pathways.filter((c) => c.category?.some((cc) => cc.coding?.some((k) => k.system === PATHWAY_SYSTEM)));
  const type = pathwayCode(plan);
  const same = open.find((c) =>
    c.category?.some((cc) => cc.coding?.some((k) => k.system === PATHWAY_SYSTEM && k.code === type)),
  );
  if (same) {
    throw new FhirError('conflict', {
      message: `Pasienten har allerede et aktivt forløp av denne typen (${type}: CarePlan/${same.id})`,
      code: 'duplicate',
      expression: 'subject',
    });
  }
  const { age, unknownWhy } = ageOf(patient, input.start);
  const rules = nprRules(plan, 'apply');
  enforceNprRules(new DeadlineRules(svc.clock), rules, {}, { patient, open, age: age ?? [] }, 'subject');
  // a rule about age that could not be checked is said on the CarePlan, for the coordinator to see
  return age === undefined && rules.some((r) => r.expression.includes('%age'))
    ? `NPR ${rules.find((r) => r.expression.includes('%age'))?.code.code} ikke kontrollert: ${unknownWhy}`
    : undefined;
}

/** Writes the pathway: the CarePlan last, so its milestones' reactions find nothing to react to until all are there. */
async function writePathway(svc: Services, tx: Tx, applied: Applied): Promise<string> {
  const write = (r: Resource) => create(svc, tx, r.resourceType, r, undefined, r.id);
  await write(applied.episode);
  await write(applied.careTeam);
  for (const task of applied.tasks) await write(task);
  await write(applied.carePlan);
  // a pathway started in the past may already have overdue milestones: evaluated as any change is
  const state = await PathwayState.load(svc, tx, applied.carePlan.id as string);
  if (state) {
    evaluatePathway(state, svc.clock);
    await applyChanges(svc, tx, state.changes());
  }
  return (await svc.store.current('CarePlan', applied.carePlan.id as string, tx))?.content as string;
}

/**
 * `PlanDefinition/[id]/$apply` (R4 §12.18.4.1) for the pathways: `subject` (the patient), `start`
 * (the start date; today in Oslo when absent), `setting` (AMB/IMP), `severity` (where a pathway's
 * limits depend on it, as D08's do), `practitioner`, `organization` (the reporting unit; the configured
 * default when absent), `encounter`, `referral` (the ServiceRequest it starts from) and `emergency` (ØH:
 * the start is the decision date). Creates the EpisodeOfCare, CareTeam, CarePlan and Tasks in one
 * transaction and returns the CarePlan. It records a pathway, so it is POST only (our OperationDefinition
 * says `affectsState`), and a retry finds the pathway open and is refused (409).
 */
export const applyOperation: Operation = {
  name: 'apply',
  definition: 'http://forlop.no/fhir/OperationDefinition/PlanDefinition-apply',
  levels: ['instance'],
  resourceTypes: ['PlanDefinition'],
  methods: ['POST'],
  access: () => [
    { type: 'PlanDefinition', action: 'r' },
    { type: 'Patient', action: 'r' },
    ...['EpisodeOfCare', 'CareTeam', 'CarePlan', 'Task'].map((type) => ({ type, action: 'c' as const })),
  ],
  async handler(svc, req, target) {
    const row = await svc.store.current('PlanDefinition', target.id as string);
    if (!row || row.deleted) throw new FhirError('not-found', `PlanDefinition/${target.id} is not known`);
    const plan = JSON.parse(row.content as string) as PlanDefinition;
    const input = readInput(svc, plan, operationInput(req));
    for (const name of ['subject', 'practitioner', 'organization', 'encounter', 'referral'] as const)
      await mustExist(svc, input[name], name);
    const patient = JSON.parse(
      (await svc.store.current('Patient', input.subject.split('/')[1]))?.content as string,
    ) as Patient;
    const carePlan = await svc.store.transaction(async (tx) => {
      // under a lock per patient, so two concurrent $apply for one patient cannot both see "no other pathway"
      await tx.lock(`pathway:${input.subject}`);
      const warning = await checkRegistration(svc, tx, plan, patient, input);
      const applied = applyPlan(plan, input, new DeadlineRules(svc.clock));
      if (warning) applied.carePlan.note = [{ text: warning, time: svc.clock.now().toISOString() }];
      return writePathway(svc, tx, applied);
    });
    return { status: 200, raw: carePlan };
  },
};
