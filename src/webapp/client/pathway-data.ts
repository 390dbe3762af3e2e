import type {
  CarePlan,
  CareTeam,
  DetectedIssue,
  Parameters,
  ParametersParameter,
  Patient,
  PlanDefinition,
  Practitioner,
  QuestionnaireResponse,
  Resource,
  Task,
} from '@medplum/fhirtypes';
import { byReference, type Fhir } from './fhir.js';

/** One milestone of `$deadlines`, as the API gives it. */
export interface Deadline {
  task: string;
  display: string;
  code?: string;
  status: string;
  due?: string;
  actual?: string;
  elapsedCalendarDays?: number;
  elapsedWorkingDays?: number;
  breach?: string;
}

export interface PathwayData {
  carePlan: CarePlan;
  patient?: Patient;
  team?: CareTeam;
  people: Map<string, Resource>;
  deadlines: Deadline[];
  today: string;
  tasks: Map<string, Task>;
  breaches: DetectedIssue[];
  descriptions: QuestionnaireResponse[];
  plan?: PlanDefinition;
}

const part = (p: ParametersParameter, name: string) => p.part?.find((x) => x.name === name);

/** `$deadlines`' milestones in the API's order. */
export function deadlinesOf(params: Parameters): { today: string; deadlines: Deadline[] } {
  const today = params.parameter?.find((p) => p.name === 'today')?.valueDate ?? '';
  const deadlines = (params.parameter ?? [])
    .filter((p) => p.name === 'milestone')
    .map((m) => ({
      task: part(m, 'task')?.valueReference?.reference ?? '',
      display: part(m, 'task')?.valueReference?.display ?? '',
      code: part(m, 'code')?.valueCoding?.code,
      status: part(m, 'status')?.valueCode ?? '',
      due: part(m, 'due')?.valueDate,
      actual: part(m, 'actual')?.valueDate,
      elapsedCalendarDays: part(m, 'elapsedCalendarDays')?.valueInteger,
      elapsedWorkingDays: part(m, 'elapsedWorkingDays')?.valueInteger,
      breach: part(m, 'breach')?.valueReference?.reference,
    }));
  return { today, deadlines };
}

/** Everything the pathway page shows, read through the FHIR API in parallel where it can be. */
export async function loadPathway(fhir: Fhir, id: string): Promise<PathwayData> {
  const q = encodeURIComponent(id);
  const [found, params, tasks, breaches] = await Promise.all([
    fhir.searchAll(`CarePlan?_id=${q}&_include=CarePlan:subject&_include=CarePlan:care-team`),
    fhir.get<Parameters>(`CarePlan/${q}/$deadlines`),
    fhir.searchAll<Task>(`Task?based-on=CarePlan/${q}&_count=200`),
    fhir.searchAll<DetectedIssue>(`DetectedIssue?implicated=CarePlan/${q}&status=final`),
  ]);
  const refs = byReference(found);
  const carePlan = refs.get(`CarePlan/${id}`) as CarePlan;
  const patient = refs.get(carePlan.subject?.reference ?? '') as Patient | undefined;
  const team = refs.get(carePlan.careTeam?.[0]?.reference ?? '') as CareTeam | undefined;
  const practitioners = (team?.participant ?? [])
    .map((p) => p.member?.reference ?? '')
    .filter((r) => r.startsWith('Practitioner/'))
    .map((r) => r.slice('Practitioner/'.length));
  const canonical = carePlan.instantiatesCanonical?.[0]?.split('|')[0];
  const [people, plans, descriptions] = await Promise.all([
    practitioners.length ? fhir.searchAll<Practitioner>(`Practitioner?_id=${practitioners.join(',')}`) : [],
    canonical ? fhir.searchAll<PlanDefinition>(`PlanDefinition?url=${encodeURIComponent(canonical)}`) : [],
    patient ? ownDescriptions(fhir, `Patient/${patient.id}`) : [],
  ]);
  return {
    carePlan,
    patient,
    team,
    people: byReference<Resource>(people),
    ...deadlinesOf(params),
    tasks: byReference(tasks),
    breaches,
    descriptions,
    plan: plans[0],
  };
}

export const OWN_DESCRIPTION = 'http://forlop.no/fhir/Questionnaire/own-description';

/** The patient's own descriptions (the shipped Questionnaire's answers), newest first. */
export async function ownDescriptions(fhir: Fhir, patient: string): Promise<QuestionnaireResponse[]> {
  const all = await fhir.searchAll<QuestionnaireResponse>(
    `QuestionnaireResponse?subject=${encodeURIComponent(patient)}`,
  );
  return all
    .filter((r) => r.questionnaire?.split('|')[0] === OWN_DESCRIPTION)
    .sort((a, b) => (b.authored ?? '').localeCompare(a.authored ?? ''));
}
