import type { CarePlan, Patient, PlanDefinition, Resource } from '@medplum/fhirtypes';
import { FhirError } from '../fhir/errors.js';
import { create } from '../fhir/interactions/write.js';
import { operationInput } from '../fhir/operations/parameters.js';
import type { Operation } from '../fhir/operations/types.js';
import type { Services } from '../fhir/services.js';
import { applyPlan, type ApplyInput } from './apply.js';
import { osloDate } from './calendar.js';
import { nprRules, PATHWAY_SYSTEM, timeLimits } from './plan.js';
import { evaluateOnce } from './progress.js';
import { findAll } from './search.js';
import { DeadlineRules, enforceNprRules } from './rules.js';

const SETTINGS = new Set(['AMB', 'IMP']);

/** Whole years from a birth date to a date (undefined when the birth date is unknown or partial). */
function ageAt(birthDate: string | undefined, on: string): number | undefined {
  if (!birthDate || !/^\d{4}-\d{2}-\d{2}$/.test(birthDate)) return undefined;
  const years = Number(on.slice(0, 4)) - Number(birthDate.slice(0, 4));
  return on.slice(5) < birthDate.slice(5) ? years - 1 : years;
}

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
    throw new FhirError('invalid', { message: `${name} must be a reference to a ${types.join(' or ')} (Type/id)`, expression: name });
  }
  return ref;
}

/** `setting` as a code (AMB | IMP) or a CodeableConcept with a v3-ActCode coding; outpatient when absent. */
function settingOf(v: unknown): 'AMB' | 'IMP' {
  if (v === undefined) return 'AMB';
  const code = typeof v === 'string' ? v : (v as { coding?: { code?: string }[] }).coding?.[0]?.code;
  if (!code || !SETTINGS.has(code)) throw new FhirError('invalid', { message: 'setting is AMB (poliklinikk) or IMP (døgn)', expression: 'setting' });
  return code as 'AMB' | 'IMP';
}

async function mustExist(svc: Services, ref: string | undefined, name: string): Promise<void> {
  if (!ref) return;
  const [type, id] = ref.split('/');
  const row = await svc.store.current(type, id);
  if (!row || row.deleted) throw new FhirError('unprocessable', { message: `${ref} is not known here`, expression: name });
}

/**
 * `PlanDefinition/[id]/$apply` (R4 §12.18.4.1) for the pathways: `subject` (the patient), `start`
 * (the start date; today in Oslo when absent), `setting` (AMB/IMP), `severity` (where a pathway's
 * limits depend on it, as D08's do), `practitioner`, `organization`, `encounter`, `referral` (the
 * ServiceRequest it starts from) and `emergency` (ØH: the start is the decision date). Creates the
 * EpisodeOfCare, CareTeam, CarePlan and Tasks in one transaction and returns the CarePlan.
 */
export const applyOperation: Operation = {
  name: 'apply',
  definition: 'http://hl7.org/fhir/OperationDefinition/PlanDefinition-apply',
  levels: ['instance'],
  resourceTypes: ['PlanDefinition'],
  methods: ['GET', 'POST'],
  access: () => [
    { type: 'PlanDefinition', action: 'r' },
    { type: 'Patient', action: 'r' },
    ...['EpisodeOfCare', 'CareTeam', 'CarePlan', 'Task'].map((type) => ({ type, action: 'c' as const })),
  ],
  async handler(svc, req, target) {
    const row = await svc.store.current('PlanDefinition', target.id as string);
    if (!row || row.deleted) throw new FhirError('not-found', `PlanDefinition/${target.id} is not known`);
    const plan = JSON.parse(row.content as string) as PlanDefinition;
    const input = operationInput(req);
    const subject = reference(input, 'subject', ['Patient']);
    if (!subject) throw new FhirError('invalid', { message: 'subject (the patient, Patient/id) is required', expression: 'subject' });
    const start = (one(input, 'start') as string | undefined) ?? osloDate(svc.clock.now());
    if (!/^\d{4}-\d{2}-\d{2}$/.test(start) || Number.isNaN(Date.parse(start))) throw new FhirError('invalid', { message: `start must be a date (YYYY-MM-DD), not '${start}'`, expression: 'start' });
    const severity = one(input, 'severity') as string | undefined;
    const needsSeverity = (plan.action ?? []).some((a) => timeLimits(a).some((l) => l.condition?.includes('%severity')));
    if (needsSeverity && !severity) throw new FhirError('invalid', { message: 'This pathway\'s time limits depend on severity: alvorlig or mindre-alvorlig', expression: 'severity' });
    const applyInput: ApplyInput = {
      subject,
      start,
      setting: settingOf(one(input, 'setting')),
      severity,
      practitioner: reference(input, 'practitioner', ['Practitioner', 'PractitionerRole']),
      organization: reference(input, 'organization', ['Organization']),
      encounter: reference(input, 'encounter', ['Encounter']),
      referral: reference(input, 'referral', ['ServiceRequest']),
      emergency: one(input, 'emergency') === 'true',
    };
    for (const name of ['subject', 'practitioner', 'organization', 'encounter', 'referral'] as const) await mustExist(svc, applyInput[name], name);
    const rules = new DeadlineRules(svc.clock);
    const patient = JSON.parse((await svc.store.current('Patient', subject.split('/')[1]))?.content as string) as Patient;
    const applied = applyPlan(plan, applyInput, rules);
    const carePlan = await svc.store.transaction(async (tx) => {
      // NPR's rules on registration (age for D12, one open pathway), under a lock per patient so two
      // concurrent $apply for one patient cannot both see "no other pathway"
      await tx.lock(`pathway:${subject}`);
      const open = (await findAll<CarePlan>(svc, 'CarePlan', `subject=${subject}&status=active`, tx)).filter((c) => c.category?.some((cc) => cc.coding?.some((k) => k.system === PATHWAY_SYSTEM)));
      enforceNprRules(rules, nprRules(plan, 'apply'), {}, { patient, open, age: ageAt(patient.birthDate, start) ?? [] }, 'subject');
      const write = (r: Resource) => create(svc, tx, r.resourceType, r, undefined, r.id);
      await write(applied.episode);
      await write(applied.careTeam);
      const written = await write(applied.carePlan);
      for (const task of applied.tasks) await write(task);
      await evaluateOnce(svc, tx, applied.carePlan);
      return written.row?.content as string;
    });
    return { status: 200, raw: carePlan };
  },
};
