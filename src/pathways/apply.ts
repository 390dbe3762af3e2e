import type { CarePlan, CareTeam, EpisodeOfCare, Patient, PlanDefinition, Reference, Task } from '@medplum/fhirtypes';
import { FhirError } from '../fhir/errors.js';
import { newId } from '../fhir/ids.js';
import { osloDate } from './calendar.js';
import {
  CARE_TEAM_ROLE,
  EVENT_SYSTEM,
  eventCode,
  PATHWAY_ACTION,
  PATHWAY_CONTEXT,
  PATHWAY_SYSTEM,
  pathwayCode,
  timeLimits,
} from './plan.js';
import { DeadlineRules } from './rules.js';
import { deadlineStatus } from './deadlines.js';
import { DUE_SOON_DAYS, standing } from './evaluate.js';

/** What `$apply` was asked: whose pathway, by whom, where, from when. */
export interface ApplyInput {
  subject: string;
  start: string;
  /** `AMB` (poliklinikk) or `IMP` (døgn): chooses among a milestone's time limits. */
  setting: 'AMB' | 'IMP';
  severity?: string;
  practitioner?: string;
  organization?: string;
  encounter?: string;
  /** The referral (ServiceRequest) the pathway starts from. */
  referral?: string;
  /** ØH entry: the pathway starts on the date of the decision after the emergency assessment. */
  emergency?: boolean;
}

export interface Applied {
  episode: EpisodeOfCare;
  careTeam: CareTeam;
  carePlan: CarePlan;
  tasks: Task[];
}

/**
 * A pathway applied to a patient (R4 PlanDefinition/$apply, §12.18.4.1): an EpisodeOfCare, a CareTeam, a CarePlan
 * that instantiates the PlanDefinition, and one Task per action. The start milestone is completed on
 * the start date; every milestone whose time limit counts from the start gets its due date now
 * (`restriction.period.end`), from the rules in the PlanDefinition; the others get theirs when the
 * milestone they count from is done. Ids are assigned here so the resources can refer to each other.
 */
export function applyPlan(plan: PlanDefinition, input: ApplyInput, rules: DeadlineRules): Applied {
  const code = pathwayCode(plan);
  if (!code)
    throw new FhirError('unprocessable', {
      message: `PlanDefinition/${plan.id} names no pathway (a topic from Volven 9321)`,
      expression: 'PlanDefinition.topic',
    });
  const subject: Reference<Patient> = { reference: input.subject };
  const carePlanId = newId();
  const episodeId = newId();
  const careTeamId = newId();
  const variables = { setting: input.setting, severity: input.severity ?? '' };
  const tasks: Task[] = (plan.action ?? []).map((action) => {
    const started = action.id === 'start';
    const event = eventCode(action);
    const limit = timeLimits(action).find(
      (l) => l.from === 'start' && (!l.condition || rules.evaluate(l.condition, {}, variables)[0] === true),
    );
    const due = limit ? rules.date(limit.rule, {}, { ...variables, from: input.start }) : undefined;
    return {
      resourceType: 'Task',
      id: newId(),
      identifier: [{ system: PATHWAY_ACTION, value: `${carePlanId}/${action.id}` }],
      instantiatesCanonical: `${plan.url}|${plan.version}`,
      basedOn: [{ reference: `CarePlan/${carePlanId}` }],
      status: started ? 'completed' : 'requested',
      intent: 'plan',
      ...(event
        ? { code: { coding: [{ system: EVENT_SYSTEM, code: event }], text: action.title } }
        : { code: { text: action.title } }),
      description: action.title,
      for: subject,
      ...(input.referral ? { focus: { reference: input.referral } } : {}),
      ...(input.encounter ? { encounter: { reference: input.encounter } } : {}),
      authoredOn: `${input.start}`,
      ...(started ? { executionPeriod: { start: input.start, end: input.start } } : {}),
      ...(input.practitioner
        ? { owner: { reference: input.practitioner } }
        : input.organization
          ? { owner: { reference: input.organization } }
          : {}),
      ...(due ? { restriction: { period: { start: input.start, end: due } } } : {}),
      ...(started && input.emergency
        ? { note: [{ text: 'ØH: the pathway starts on the date of the decision after the emergency assessment' }] }
        : {}),
    } as Task;
  });
  // each milestone is written with its standing today, so writing it needs no evaluation
  const today = osloDate(rules.now());
  for (const task of tasks) {
    const { status } = deadlineStatus(task, today, DUE_SOON_DAYS);
    if (status !== 'no-limit') task.businessStatus = standing(status);
  }
  const episode: EpisodeOfCare = {
    resourceType: 'EpisodeOfCare',
    id: episodeId,
    status: 'active',
    type: [{ coding: [{ system: PATHWAY_SYSTEM, code }], text: plan.title }],
    patient: subject,
    ...(input.organization ? { managingOrganization: { reference: input.organization } } : {}),
    ...(input.referral ? { referralRequest: [{ reference: input.referral }] } : {}),
    period: { start: input.start },
  };
  // the patient takes part; the coordinator in specialist care is the practitioner who applied it, when
  // given (the municipality's coordinator is added to the team when known: the `coordinator` milestone)
  const role = (code: string, display: string) => [{ coding: [{ system: CARE_TEAM_ROLE, code, display }] }];
  const careTeam: CareTeam = {
    resourceType: 'CareTeam',
    id: careTeamId,
    status: 'active',
    name: `Forløpsteam: ${plan.title}`,
    subject,
    encounter: input.encounter ? { reference: input.encounter } : undefined,
    period: { start: input.start },
    participant: [
      { role: role('patient', 'Pasient'), member: subject },
      ...(input.practitioner
        ? [
            {
              role: role('coordinator-specialist', 'Forløpskoordinator i spesialisthelsetjenesten'),
              member: { reference: input.practitioner },
              ...(input.organization ? { onBehalfOf: { reference: input.organization } } : {}),
            },
          ]
        : []),
    ],
    ...(input.organization ? { managingOrganization: [{ reference: input.organization }] } : {}),
  };
  if (!careTeam.encounter) delete careTeam.encounter;
  const carePlan: CarePlan = {
    resourceType: 'CarePlan',
    id: carePlanId,
    extension: [
      {
        url: PATHWAY_CONTEXT,
        extension: [
          { url: 'setting', valueCode: input.setting },
          ...(input.severity ? [{ url: 'severity', valueCode: input.severity }] : []),
        ],
      },
    ],
    instantiatesCanonical: [`${plan.url}|${plan.version}`],
    ...(input.referral ? { basedOn: [{ reference: input.referral }] } : {}),
    status: 'active',
    intent: 'plan',
    category: [{ coding: [{ system: PATHWAY_SYSTEM, code }] }],
    title: plan.title,
    subject,
    ...(input.encounter ? { encounter: { reference: input.encounter } } : {}),
    period: { start: input.start },
    created: osloDate(rules.now()),
    ...(input.practitioner ? { author: { reference: input.practitioner } } : {}),
    careTeam: [{ reference: `CareTeam/${careTeamId}` }],
    supportingInfo: [{ reference: `EpisodeOfCare/${episodeId}` }],
    activity: tasks.map((t) => ({ reference: { reference: `Task/${t.id}`, display: t.description } })),
  };
  return { episode, careTeam, carePlan, tasks };
}
