import type { Basic, CarePlan, DetectedIssue, Extension, Resource, Subscription, Task } from '@medplum/fhirtypes';
import { FhirError } from '../fhir/errors.js';

/** The R4 Backport IG's canonical base and the extensions a topic-based R4 Subscription carries. */
export const BACKPORT_SD = 'http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition';
export const FILTER_EXTENSION = `${BACKPORT_SD}/backport-filter-criteria`;
export const CONTENT_EXTENSION = `${BACKPORT_SD}/backport-payload-content`;
export const HEARTBEAT_EXTENSION = `${BACKPORT_SD}/backport-heartbeat-period`;

/** Where the shipped topics' canonical URLs start. */
export const TOPIC_BASE = 'http://forlop.no/fhir/SubscriptionTopic';

/**
 * A topic the server ships: what it is about (a search on one resource type: the transition the server
 * writes once, such as a milestone's standing turning `overdue`), and the search parameters a subscriber
 * may filter it by (Backport IG filter criteria): the patient, the pathway (a milestone's CarePlan, or
 * a CarePlan's PlanDefinition) and the unit. A filter is applied as the search parameter of the same name
 * unless `filterAs` names the search it stands for. A registry report's unit is its job Task's input of
 * type `unit`, indexed as `job-unit` (profiles/SearchParameter-task-job-unit.json).
 */
export interface Topic {
  code: string;
  title: string;
  resourceType: string;
  search: string;
  filters: string[];
  /** The search a filter parameter is applied as, when it is not a search parameter of the topic's type. */
  filterAs?: Record<string, string>;
  /**
   * Whether a version is in the topic's state already: the version before a write that matches the topic
   * is asked, so an event is the transition into it (a note added to an overdue milestone is not another).
   */
  holds(resource: Resource): boolean;
}

const standing = (code: string) => (r: Resource) =>
  (r as Task).businessStatus?.coding?.some((c) => c.code === code) ?? false;

const PATHWAY_ACTION = 'http://forlop.no/fhir/NamingSystem/pathway-action|';
/**
 * The unit (the Organization that reports the pathway) is its care team's managing organization, which
 * $apply sets (with the EpisodeOfCare's): `unit` follows the CarePlan's `care-team` to it
 * (profiles/SearchParameter-careteam-managing-organization.json).
 */
const CARE_TEAM_UNIT = 'care-team:CareTeam.managing-organization';
const MILESTONE_FILTERS = ['patient', 'based-on', 'unit'];
const MILESTONE_UNIT = { unit: `based-on:CarePlan.${CARE_TEAM_UNIT}` };
/** A pathway's CarePlan: by patient, by which pathway (the PlanDefinition it instantiates), by unit. */
const PATHWAY_FILTERS = ['patient', 'instantiates-canonical', 'unit'];

export const TOPICS: Topic[] = [
  {
    code: 'milestone-due-soon',
    title: 'A pathway milestone is due soon',
    resourceType: 'Task',
    search: 'business-status=due-soon',
    filters: MILESTONE_FILTERS,
    filterAs: MILESTONE_UNIT,
    holds: standing('due-soon'),
  },
  {
    code: 'milestone-overdue',
    title: 'A pathway milestone is overdue',
    resourceType: 'Task',
    search: 'business-status=overdue',
    filters: MILESTONE_FILTERS,
    filterAs: MILESTONE_UNIT,
    holds: standing('overdue'),
  },
  {
    code: 'milestone-completed',
    title: 'A pathway milestone is completed',
    resourceType: 'Task',
    search: `status=completed&identifier=${encodeURIComponent(PATHWAY_ACTION)}`,
    filters: MILESTONE_FILTERS,
    filterAs: MILESTONE_UNIT,
    holds: (r) => (r as Task).status === 'completed',
  },
  {
    code: 'pathway-started',
    title: 'A patient pathway is started',
    resourceType: 'CarePlan',
    search: 'status=active',
    filters: PATHWAY_FILTERS,
    filterAs: { unit: CARE_TEAM_UNIT },
    holds: (r) => (r as CarePlan).status === 'active',
  },
  {
    code: 'pathway-ended',
    title: 'A patient pathway is ended (completed or revoked)',
    resourceType: 'CarePlan',
    search: 'status=completed,revoked',
    filters: PATHWAY_FILTERS,
    filterAs: { unit: CARE_TEAM_UNIT },
    holds: (r) => ['completed', 'revoked'].includes((r as CarePlan).status),
  },
  {
    code: 'registry-report-ready',
    title: "A unit's NPR registry report is ready",
    resourceType: 'Task',
    search: `status=completed&code=${encodeURIComponent('http://forlop.no/fhir/CodeSystem/job|npr-report')}`,
    filters: ['unit'],
    filterAs: { unit: 'job-unit' },
    holds: (r) => (r as Task).status === 'completed',
  },
  {
    code: 'breach-recorded',
    title: 'A breach of a pathway time limit is recorded',
    resourceType: 'DetectedIssue',
    search: 'status=final',
    filters: ['patient', 'implicated', 'unit'],
    // a breach implicates its milestone and its pathway's CarePlan: the unit is found through the latter
    filterAs: { unit: `implicated:CarePlan.${CARE_TEAM_UNIT}` },
    holds: (r) => (r as DetectedIssue).status === 'final',
  },
];

export const topicUrl = (t: Topic) => `${TOPIC_BASE}/${t.code}`;

/** The topic a Subscription's criteria name (a topic-based subscription), if any. */
export function topicOf(sub: Subscription): Topic | undefined {
  return TOPICS.find((t) => topicUrl(t) === sub.criteria);
}

/** The extensions of primitive elements (`_criteria`, `_payload`), which the R4 typings leave out. */
interface PrimitiveExtensions {
  _criteria?: { extension?: Extension[] };
  channel: { _payload?: { extension?: Extension[] } };
}

const refuse = (message: string, expression: string) =>
  new FhirError('unprocessable', { message, expression: `Subscription.${expression}` });

/**
 * The search a topic-based subscription is matched by: the topic's own, with the subscriber's filters
 * (Backport IG `backport-filter-criteria` on `Subscription.criteria`: `Task?patient=Patient/123`), each on
 * the topic's type and one of its filter parameters (422 otherwise).
 */
export function topicCriteria(topic: Topic, sub: Subscription): string {
  const extensions = (sub as Subscription & PrimitiveExtensions)._criteria?.extension ?? [];
  const filters = extensions.filter((e) => e.url === FILTER_EXTENSION);
  const extra: string[] = [];
  for (const filter of filters) {
    const value = filter.valueString ?? '';
    const at = value.indexOf('?');
    if (value.slice(0, at) !== topic.resourceType)
      throw refuse(`A filter of ${topic.code} is a ${topic.resourceType} search, not '${value}'`, 'criteria');
    for (const [name, v] of new URLSearchParams(value.slice(at + 1))) {
      if (!topic.filters.includes(name))
        throw refuse(
          topic.filters.length
            ? `${topic.code} is filtered by ${topic.filters.join(' or ')}, not '${name}'`
            : `${topic.code} takes no filter ('${name}' cannot be honoured)`,
          'criteria',
        );
      extra.push(`${encodeURIComponent(topic.filterAs?.[name] ?? name)}=${encodeURIComponent(v)}`);
    }
  }
  return `${topic.resourceType}?${[topic.search, ...extra].join('&')}`;
}

/** What a topic-based notification carries (Backport IG payload content); `empty` when not said. */
export function contentOf(sub: Subscription): string {
  const extensions = (sub as Subscription & PrimitiveExtensions).channel._payload?.extension ?? [];
  return extensions.find((e) => e.url === CONTENT_EXTENSION)?.valueCode ?? 'empty';
}

/**
 * The heartbeat period a topic-based subscription asks for (Backport IG `backport-heartbeat-period` on
 * `Subscription.channel`, in seconds), in ms; undefined when none. NaN when it is not a whole number ≥ 1.
 */
export function heartbeatMsOf(sub: Subscription): number | undefined {
  const ext = sub.channel.extension?.find((e) => e.url === HEARTBEAT_EXTENSION);
  if (!ext) return undefined;
  const seconds = ext.valueUnsignedInt ?? ext.valueInteger ?? ext.valuePositiveInt;
  return Number.isInteger(seconds) && (seconds as number) >= 1 ? (seconds as number) * 1000 : NaN;
}

/** The shipped topics as R4 Backport `Basic` resources (code SubscriptionTopic), stored at start-up. */
export function topicResources(): Basic[] {
  const xver = 'http://hl7.org/fhir/5.0/StructureDefinition/extension-SubscriptionTopic';
  return TOPICS.map((t) => ({
    resourceType: 'Basic',
    id: `topic-${t.code}`,
    code: { coding: [{ system: 'http://hl7.org/fhir/fhir-types', code: 'SubscriptionTopic' }] },
    extension: [
      { url: `${xver}.url`, valueUri: topicUrl(t) },
      { url: `${xver}.title`, valueString: t.title },
      { url: `${xver}.status`, valueCode: 'active' },
      ...t.filters.map((f) => ({
        url: `${xver}.canFilterBy`,
        extension: [
          { url: 'resource', valueUri: t.resourceType },
          { url: 'filterParameter', valueString: f },
        ],
      })),
    ],
  }));
}
