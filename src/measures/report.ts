import type {
  List,
  MeasureReport,
  MeasureReportGroup,
  MeasureReportGroupPopulation,
  MeasureReportGroupStratifier,
  MeasureReportGroupStratifierStratum,
  Reference,
} from '@medplum/fhirtypes';
import { MEASURE_POPULATION } from './constants.js';
import type { MeasureDef } from './definition.js';
import type { MeasurementPeriod } from './period.js';
import { scoreOf } from './scoring.js';
import type { GroupTally, Tally } from './tally.js';

/** What the report is of: its type, who it is about, who reports it, when. */
export interface ReportHead {
  type: MeasureReport['type'];
  period: MeasurementPeriod;
  date: string;
  subject?: MeasureReport['subject'];
  reporter?: MeasureReport['reporter'];
  evaluatedResource?: Reference[];
}

/** The report being made: its contained Lists (subject-list), added as populations are written. */
class Lists {
  readonly contained: List[] = [];

  constructor(readonly listed: boolean) {}

  /** The `subjectResults` of a population: a contained List of the CarePlans counted (none when empty). */
  of(tally: Tally, code: string, id: string): Pick<MeasureReportGroupPopulation, 'subjectResults'> {
    const members = tally.members.get(code as never);
    if (!this.listed || !members?.length) return {};
    const entry = [...members].sort().map((carePlan) => ({ item: { reference: `CarePlan/${carePlan}` } }));
    this.contained.push({ resourceType: 'List', id, status: 'current', mode: 'snapshot', title: code, entry });
    return { subjectResults: { reference: `#${id}` } };
  }
}

/** A tally's populations in the Measure's order, each with its count and, listed, its CarePlans. */
function populations(tally: Tally, codes: string[], lists: Lists, prefix: string): MeasureReportGroupPopulation[] {
  return codes.map((code) => ({
    code: { coding: [{ system: MEASURE_POPULATION, code }] },
    count: code === 'measure-observation' ? tally.observations.length : tally.count(code as never),
    ...lists.of(tally, code, `${prefix}-${code}`),
  }));
}

function scored(score: number | undefined): Pick<MeasureReportGroup, 'measureScore'> {
  return score === undefined ? {} : { measureScore: { value: score } };
}

/** One stratifier of the report: its code (R4 mea-1: a stratifier of components is named by theirs) and strata. */
function stratifierOf(t: GroupTally, g: number, k: number, lists: Lists): MeasureReportGroupStratifier {
  const s = t.group.stratifiers[k];
  const codes = [...t.group.populations.keys()];
  const code = s.code ? [s.code] : s.parts.flatMap((c) => (c.code ? [c.code] : []));
  const stratum = t.sortedStrata(k).map(({ place, tally }, n): MeasureReportGroupStratifierStratum => ({
    // R4 mrp-2: a stratum has a value or components, never both
    ...(place.components ? { component: place.components } : { value: place.value }),
    population: populations(tally, codes, lists, `g${g}-s${k}-${n}`),
    ...scored(scoreOf(t.group.scoring, t.group.aggregate, tally)),
  }));
  // no empty arrays in FHIR JSON: a stratifier no pathway reached has no strata
  return { ...(code.length ? { code } : {}), ...(stratum.length ? { stratum } : {}) };
}

function groupOf(t: GroupTally, g: number, lists: Lists): MeasureReportGroup {
  const { group } = t;
  const codes = [...group.populations.keys()];
  const stratifier = group.stratifiers.map((_s, k) => stratifierOf(t, g, k, lists));
  return {
    ...(group.extension ? { extension: group.extension } : {}),
    ...(group.code ? { code: group.code } : {}),
    population: populations(t.total, codes, lists, `g${g}`),
    ...scored(scoreOf(group.scoring, group.aggregate, t.total)),
    ...(stratifier.length ? { stratifier } : {}),
  };
}

/**
 * The MeasureReport (R4 §15.13): one group per Measure group with each population's count, the score
 * and the strata, each stratum with its own populations and score. A subject-list report holds, per
 * population of the group and of every stratum, a contained List of the CarePlans counted
 * (`subjectResults`), so each figure opens down to its pathways and their patients.
 */
export function buildReport(def: MeasureDef, tallies: GroupTally[], head: ReportHead): MeasureReport {
  const lists = new Lists(head.type === 'subject-list');
  const group = tallies.map((t, g) => groupOf(t, g, lists));
  return {
    resourceType: 'MeasureReport',
    ...(lists.contained.length ? { contained: lists.contained } : {}),
    status: 'complete',
    type: head.type,
    measure: def.canonical,
    ...(head.subject ? { subject: head.subject } : {}),
    date: head.date,
    ...(head.reporter ? { reporter: head.reporter } : {}),
    period: { start: head.period.start, end: head.period.end },
    ...(def.measure.improvementNotation ? { improvementNotation: def.measure.improvementNotation } : {}),
    group,
    ...(head.evaluatedResource?.length ? { evaluatedResource: head.evaluatedResource } : {}),
  };
}
