import type { CarePlan, CareTeam, EpisodeOfCare, PlanDefinition, PlanDefinitionAction, Task } from '@medplum/fhirtypes';
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
import { DUE_SOON_DAYS } from './due-soon.js';
import { standing } from './evaluate.js';

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

/** The ids the pathway's resources get, so they can refer to each other before any is stored. */
interface PathwayIds {
  carePlan: string;
  episode: string;
  careTeam: string;
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
  if (!code) {
    const message = `PlanDefinition/${plan.id} names no pathway (a topic from Volven 9321)`;
    throw new FhirError('unprocessable', { message, expression: 'PlanDefinition.topic' });
  }
  const ids: PathwayIds = { carePlan: newId(), episode: newId(), careTeam: newId() };
  const tasks = (plan.action ?? []).map((action) => milestoneTask(plan, action, input, rules, ids));
  // each milestone is written with its standing today, so writing it needs no evaluation
  const today = osloDate(rules.now());
  for (const task of tasks) {
    const { status } = deadlineStatus(task, today, DUE_SOON_DAYS);
    if (status !== 'no-limit') task.businessStatus = standing(status);
  }
  return {
    episode: episodeOf(plan, code, input, ids),
    careTeam: careTeamOf(plan, input, ids),
    carePlan: carePlanOf(plan, code, input, ids, tasks, osloDate(rules.now())),
    tasks,
  };
}

/** One action's Task: its event code, the start done on the start date, a due date when it counts from the start. */
function milestoneTask(
  plan: PlanDefinition,
  action: PlanDefinitionAction,
  input: ApplyInput,
  rules: DeadlineRules,
  ids: PathwayIds,
): Task {
  const variables = { setting: input.setting, severity: input.severity ?? '' };
  const started = action.id === 'start';
  const event = eventCode(action);
  const limit = timeLimits(action).find(
    (l) => l.from === 'start' && (!l.condition || rules.evaluate(l.condition, {}, variables)[0] === true),
  );
  const due = limit ? rules.date(limit.rule, {}, { ...variables, from: input.start }) : undefined;
  const owner = input.practitioner ?? input.organization;
  const emergency = 'ØH: the pathway starts on the date of the decision after the emergency assessment';
  return {
    resourceType: 'Task',
    id: newId(),
    identifier: [{ system: PATHWAY_ACTION, value: `${ids.carePlan}/${action.id}` }],
    instantiatesCanonical: `${plan.url}|${plan.version}`,
    basedOn: [{ reference: `CarePlan/${ids.carePlan}` }],
    status: started ? 'completed' : 'requested',
    intent: 'plan',
    code: event ? { coding: [{ system: EVENT_SYSTEM, code: event }], text: action.title } : { text: action.title },
    description: action.title,
    for: { reference: input.subject },
    ...(input.referral ? { focus: { reference: input.referral } } : {}),
    ...(input.encounter ? { encounter: { reference: input.encounter } } : {}),
    authoredOn: `${input.start}`,
    ...(started ? { executionPeriod: { start: input.start, end: input.start } } : {}),
    ...(owner ? { owner: { reference: owner } } : {}),
    ...(due ? { restriction: { period: { start: input.start, end: due } } } : {}),
    ...(started && input.emergency ? { note: [{ text: emergency }] } : {}),
  } as Task;
}

function episodeOf(plan: PlanDefinition, code: string, input: ApplyInput, ids: PathwayIds): EpisodeOfCare {
  return {
    resourceType: 'EpisodeOfCare',
    id: ids.episode,
    status: 'active',
    type: [{ coding: [{ system: PATHWAY_SYSTEM, code }], text: plan.title }],
    patient: { reference: input.subject },
    ...(input.organization ? { managingOrganization: { reference: input.organization } } : {}),
    ...(input.referral ? { referralRequest: [{ reference: input.referral }] } : {}),
    period: { start: input.start },
  };
}

/**
 * The patient takes part; the coordinator in specialist care is the practitioner who applied it, when given
 * (the municipality's coordinator is added to the team when known: the `coordinator` milestone).
 */
function careTeamOf(plan: PlanDefinition, input: ApplyInput, ids: PathwayIds): CareTeam {
  const role = (code: string, display: string) => [{ coding: [{ system: CARE_TEAM_ROLE, code, display }] }];
  const coordinator = input.practitioner && {
    role: role('coordinator-specialist', 'Forløpskoordinator i spesialisthelsetjenesten'),
    member: { reference: input.practitioner },
    ...(input.organization ? { onBehalfOf: { reference: input.organization } } : {}),
  };
  return {
    resourceType: 'CareTeam',
    id: ids.careTeam,
    status: 'active',
    name: `Forløpsteam: ${plan.title}`,
    subject: { reference: input.subject },
    ...(input.encounter ? { encounter: { reference: input.encounter } } : {}),
    period: { start: input.start },
    participant: [
      { role: role('patient', 'Pasient'), member: { reference: input.subject } },
      ...(coordinator ? [coordinator] : []),
    ],
    ...(input.organization ? { managingOrganization: [{ reference: input.organization }] } : {}),
  };
}

function carePlanOf(
  plan: PlanDefinition,
  code: string,
  input: ApplyInput,
  ids: PathwayIds,
  tasks: Task[],
  created: string,
): CarePlan {
  const context = [
    { url: 'setting', valueCode: input.setting },
    ...(input.severity ? [{ url: 'severity', valueCode: input.severity }] : []),
  ];
  return {
    resourceType: 'CarePlan',
    id: ids.carePlan,
    extension: [{ url: PATHWAY_CONTEXT, extension: context }],
    instantiatesCanonical: [`${plan.url}|${plan.version}`],
    ...(input.referral ? { basedOn: [{ reference: input.referral }] } : {}),
    status: 'active',
    intent: 'plan',
    category: [{ coding: [{ system: PATHWAY_SYSTEM, code }] }],
    title: plan.title,
    subject: { reference: input.subject },
    ...(input.encounter ? { encounter: { reference: input.encounter } } : {}),
    period: { start: input.start },
    created,
    ...(input.practitioner ? { author: { reference: input.practitioner } } : {}),
    careTeam: [{ reference: `CareTeam/${ids.careTeam}` }],
    supportingInfo: [{ reference: `EpisodeOfCare/${ids.episode}` }],
    activity: tasks.map((t) => ({ reference: { reference: `Task/${t.id}`, display: t.description } })),
  };
}
