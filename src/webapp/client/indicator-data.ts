import type { List, Measure, MeasureReport, MeasureReportGroupStratifierStratum } from '@medplum/fhirtypes';

type Population = NonNullable<MeasureReportGroupStratifierStratum['population']>[number];

/** One point of the trend: its period, counts, score (0–1, none without a denominator) and pathways. */
export interface Point {
  period: string;
  numerator: number;
  denominator: number;
  score?: number;
  /** The pathways (CarePlan ids) in the denominator, and those of them in the numerator. */
  pathways: string[];
  met: Set<string>;
}

const TARGET = 'http://forlop.no/fhir/StructureDefinition/measure-target';

/** The target the Measure's first group carries (`measure-target`, e.g. 0.8), if it has one. */
export function targetOf(m: Measure | MeasureReport): number | undefined {
  const ext = m.group?.[0]?.extension?.find((e) => e.url === TARGET);
  return ext?.extension?.find((e) => e.url === 'value')?.valueDecimal;
}

function members(report: MeasureReport, p: Population | undefined): string[] {
  const ref = p?.subjectResults?.reference?.replace(/^#/, '');
  const list = report.contained?.find((c) => c.resourceType === 'List' && c.id === ref) as List | undefined;
  return (list?.entry ?? []).map((e) => e.item.reference?.replace(/^CarePlan\//, '') ?? '');
}

function stratum(report: MeasureReport, by: string, value: string) {
  const s = report.group?.[0]?.stratifier?.find((x) => x.code?.length === 1 && x.code[0].text === by);
  return s?.stratum?.find((x) => x.value?.text === value);
}

const pop = (s: { population?: Population[] } | undefined, code: string) =>
  s?.population?.find((p) => p.code?.coding?.some((c) => c.code === code));

/**
 * The point of one period: the server's own stratum figures, or, for one pathway, the stratum's
 * pathways that are also in that pathway's stratum, scored as R4 scores a proportion: numerator over
 * denominator less its exclusions and exceptions.
 */
export function pointOf(report: MeasureReport, by: 'month' | 'tertial', period: string, pathway: string): Point {
  const s = stratum(report, by, period);
  const only = pathway ? stratum(report, 'pathway', pathway) : undefined;
  const keep = (code: string) => {
    const all = members(report, pop(s, code));
    if (!pathway) return all;
    const allowed = new Set(members(report, pop(only, code)));
    return all.filter((id) => allowed.has(id));
  };
  const den = keep('denominator');
  const out = new Set([...keep('denominator-exclusion'), ...keep('denominator-exception')]);
  const num = keep('numerator').filter((id) => !out.has(id));
  const eligible = den.filter((id) => !out.has(id));
  const serverScore = s?.measureScore?.value;
  const score =
    !pathway && serverScore !== undefined ? serverScore : eligible.length ? num.length / eligible.length : undefined;
  return { period, numerator: num.length, denominator: eligible.length, score, pathways: den, met: new Set(num) };
}
