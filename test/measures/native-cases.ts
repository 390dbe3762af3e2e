import type { CarePlan, EpisodeOfCare, ServiceRequest, Task } from '@medplum/fhirtypes';
import { EVENT_SYSTEM, PATHWAY_ACTION, PATHWAY_CONTEXT, PATHWAY_SYSTEM } from '../../src/pathways/plan.js';
import type { PathwayData } from '../../src/measures/source.js';

/** A small seeded generator (mulberry32): the same cases on every run. */
export function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Rand = () => number;
const pick = <T>(r: Rand, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)];
const maybe = <T>(r: Rand, p: number, f: () => T): T | undefined => (r() < p ? f() : undefined);

/** A date or dateTime around 2026, in the forms the data holds (a date, UTC, Oslo's offset, late evening). */
function when(r: Rand): string {
  const d = new Date(Date.UTC(2025, 10, 1) + Math.floor(r() * 520) * 86400000).toISOString().slice(0, 10);
  return pick(r, [d, d, `${d}T08:00:00Z`, `${d}T23:30:00+01:00`, `${d}T22:45:00Z`, `${d}T00:15:00+02:00`]);
}

const EVENTS = ['A', 'C', 'M', 'U', 'X', 'L', 'C'] as const;
const ACTIONS = ['first-attendance', 'clinical-decision', 'first-evaluation', 'treatment-after-detox', 'end'];
const OUTCOMES: [string, string[]][] = [
  ['9323', ['P', 'T', 'A']],
  ['9325', ['U', 'K']],
  ['9326', ['N', 'O', 'A']],
];

function task(r: Rand, carePlan: string, k: number): Task {
  const [system, codes] = pick(r, OUTCOMES);
  const end = maybe(r, 0.85, () => when(r));
  return {
    resourceType: 'Task',
    id: `${carePlan}-t${k}`,
    status: pick(r, ['completed', 'completed', 'completed', 'ready', 'cancelled'] as const),
    intent: 'plan',
    code: {
      coding: [
        { system: EVENT_SYSTEM, code: pick(r, EVENTS) },
        ...(r() < 0.1 ? [{ system: 'http://example.org/other', code: 'C' }] : []),
      ],
    },
    identifier: [{ system: PATHWAY_ACTION, value: `${carePlan}/${pick(r, ACTIONS)}` }],
    ...(end ? { executionPeriod: { start: end, end } } : {}),
    ...(r() < 0.8 ? { restriction: { period: { end: when(r) } } } : {}),
    ...(r() < 0.4
      ? { output: [{ type: { text: 'Utfall' }, valueCodeableConcept: { coding: [{ system: `urn:oid:2.16.578.1.12.4.1.1.${system}`, code: pick(r, codes) }] } }] }
      : {}),
  };
}

/** One pathway with what its criteria read: a CarePlan, its Tasks, its unit and referral, some missing. */
export function pathwayCase(r: Rand, k: number): PathwayData {
  const id = `cp${k}`;
  const carePlan: CarePlan = {
    resourceType: 'CarePlan',
    id,
    status: 'active',
    intent: 'plan',
    subject: { reference: `Patient/p${k}` },
    category: maybe(r, 0.95, () => [{ coding: [{ system: PATHWAY_SYSTEM, code: pick(r, ['D01', 'D06', 'D07', 'D08', 'D09', 'D10', 'D11', 'D12']) }] }]),
    period: { start: when(r), ...(r() < 0.3 ? { end: when(r) } : {}) },
    extension: [{ url: PATHWAY_CONTEXT, extension: context(r) }],
  };
  const tasks = Array.from({ length: Math.floor(r() * 7) }, (_, i) => task(r, id, i));
  const episode = maybe(r, 0.9, (): EpisodeOfCare => ({
    resourceType: 'EpisodeOfCare',
    id: `ep${k}`,
    status: 'active',
    patient: { reference: `Patient/p${k}` },
    ...(r() < 0.9 ? { managingOrganization: { reference: `Organization/${pick(r, ['u1', 'u2', 'u3'])}` } } : {}),
  }));
  const referral = maybe(r, 0.8, (): ServiceRequest => ({
    resourceType: 'ServiceRequest',
    id: `sr${k}`,
    status: 'completed',
    intent: 'order',
    subject: { reference: `Patient/p${k}` },
    ...(r() < 0.85 ? { authoredOn: when(r) } : {}),
  }));
  return { carePlan, tasks, episode, referral };
}

/** The context the time limits read (the CarePlan's pathway-context extension): setting and severity. */
function context(r: Rand): { url: string; valueCode: string }[] {
  return [
    ...(r() < 0.9 ? [{ url: 'setting', valueCode: pick(r, ['AMB', 'IMP']) }] : []),
    ...(r() < 0.5 ? [{ url: 'severity', valueCode: pick(r, ['alvorlig', 'moderat']) }] : []),
  ];
}

/**
 * Expressions beyond the shipped Measures' that probe the edges of the native subset: typed dates
 * against text, choice elements, lists where one item is wanted, unknown variables, arithmetic.
 */
export const PROBES = [
  "%done.where(status = 'completed').first().executionPeriod.end",
  "period.start > '2026-03-01'",
  "period.start.addCalendarDays(0) > '2026-03-01'",
  "%eventDate = '2026-03-01'",
  '%eventDate >= %periodStart',
  '%eventDate < %due',
  "%severity = 'alvorlig' or %setting = 'AMB'",
  "%severity = 'alvorlig' and %setting = 'AMB'",
  'category.coding.code',
  '%done.output.value.coding.code',
  "%done.where(output.value.coding.exists(code = 'P')).exists()",
  '%tasks.count()',
  "%done.where(code.coding.exists(code = 'C')).executionPeriod.end.addWorkingDays(5).isWorkingDay()",
  '%eventDate.substring(5)',
  '%eventDate.substring(20, 2)',
  "'unit ' + %unit",
  '%unitx',
  "%done.code.coding.code = 'C'",
  '1 + 2 <= 3',
  '%now.calendarDaysUntil(%eventDate)',
  '%referral.authoredOn.empty() or %referral.authoredOn.addCalendarDays(0) <= %eventDate',
  "iif(%setting = 'AMB', 7, 28)",
  "%done.where(identifier.exists(value.endsWith('/clinical-decision'))).exists()",
  "%done.first().status = 'completed'",
  'period.end.exists()',
  '%done.executionPeriod.end.first() != %eventDate',
  "%done.where(status != 'completed').empty()",
  '%event.restriction.period.end.workingDaysUntil(%eventDate)',
  "%episode.managingOrganization.reference = 'Organization/u1'",
  '%done.where(executionPeriod.end.addCalendarDays(0) >= %periodStart).count()',
  '%event.executionPeriod.end > %event.restriction.period.end',
  "%tasks.where(status = 'completed' and code.coding.where(code = 'C').exists()).first().id",
  '%done.executionPeriod.end.addCalendarDays(1)',
  "%eventDate.substring(0, 4).toInteger() + 1",
  "%unit.substring(0, 13) = 'Organization/'",
  '%done.where(true)',
  '%done.where(status)',
  '$this.period.start.addCalendarDays(0)',
];
