/**
 * Generates the quality indicators shipped in `measures/`: one Measure per entry of
 * `tools/data/measures.json`, episode-based (population basis CarePlan) with FHIRPath criteria.
 * Run it when the data change: `npx tsx tools/build-measures.ts [--source DIR]`.
 *
 * Every Measure gets the same named variables (the R4 `variable` extension: %pathway, %unit, %start,
 * %event, %eventDate, %due, %inPeriod), made from the milestone its entry names, and the same strata
 * (unit, pathway, care level, month, tertial, unit × pathway). The entry's facts become the
 * `definition-evidence` and `measure-target` extensions and the relatedArtifacts; a pathway time it
 * cites must be one of `../shared/domain/data/forlopstider-verified.json`, whose source it takes.
 * Nothing here is evaluated: the server reads the Measures as data.
 */
import { readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type {
  Extension,
  Measure,
  MeasureGroupPopulation,
  MeasureGroupStratifier,
  RelatedArtifact,
} from '@medplum/fhirtypes';

const BASE = 'http://forlop.no/fhir';
const EVENT_SYSTEM = 'urn:oid:2.16.578.1.12.4.1.1.9322';
const PATHWAY_SYSTEM = 'urn:oid:2.16.578.1.12.4.1.1.9321';
const PATHWAY_ACTION = `${BASE}/NamingSystem/pathway-action`;
const VARIABLE = 'http://hl7.org/fhir/StructureDefinition/variable';
const BASIS = 'http://hl7.org/fhir/us/cqfmeasures/StructureDefinition/cqfm-populationBasis';
const AGGREGATE = 'http://hl7.org/fhir/us/cqfmeasures/StructureDefinition/cqfm-aggregateMethod';
const EVIDENCE = `${BASE}/StructureDefinition/definition-evidence`;
const TARGET = `${BASE}/StructureDefinition/measure-target`;

const here = import.meta.dirname;
const source = resolve(
  process.argv.includes('--source')
    ? process.argv[process.argv.indexOf('--source') + 1]
    : join(here, '../../shared/domain/data'),
);
const out = resolve(join(here, '../measures'));

type Status = 'verified' | 'inferred' | 'unverified';
interface PopulationEntry {
  expression: string;
  description: string;
  status: Status;
  note?: string;
  language?: string;
  aggregate?: string;
}
interface Entry {
  id: string;
  title: string;
  description: string;
  scoring: 'proportion' | 'ratio' | 'continuous-variable' | 'cohort';
  improvement?: 'increase' | 'decrease';
  event: { code?: string; action?: string };
  variables?: { name: string; expression: string }[];
  pathways?: string[];
  limits?: { pathway: string; to: string }[];
  strata?: string[];
  evidence: { status: Status; fact: string; source?: string[] };
  target?: { value: number; status: Status; fact: string; source?: string };
  populations: Record<string, PopulationEntry> | 'milestone-within-time';
}
interface Limit {
  pathway: string;
  to: string;
  source: string;
}

const data = JSON.parse(readFileSync(join(here, 'data/measures.json'), 'utf8')) as {
  version: string;
  measures: Entry[];
};
const limits = (
  JSON.parse(readFileSync(join(source, 'forlopstider-verified.json'), 'utf8')) as { forlopstider: Limit[] }
).forlopstider;

const fhirpath = (expression: string, name?: string) => ({
  language: 'text/fhirpath' as const,
  expression,
  ...(name ? { name } : {}),
});
const variable = (name: string, expression: string): Extension => ({
  url: VARIABLE,
  valueExpression: fhirpath(expression, name),
});

/** The milestone Task an entry is about: by its 9322 event code, or by its action id (first-evaluation …). */
function eventExpression(e: Entry['event']): string {
  // on %done (the completed Tasks), with exists(criteria): a few Tasks instead of every one, each tested once
  if (e.code) return `%done.where(code.coding.exists(system = '${EVENT_SYSTEM}' and code = '${e.code}')).first()`;
  return `%done.where(identifier.exists(system = '${PATHWAY_ACTION}' and value.endsWith('/${e.action}'))).first()`;
}

/** The variables every Measure shares, then the entry's own. */
function variables(entry: Entry): Extension[] {
  return [
    variable('pathway', `category.coding.where(system = '${PATHWAY_SYSTEM}').code.first()`),
    variable('unit', '%episode.managingOrganization.reference.first()'),
    variable('start', 'period.start.addCalendarDays(0)'),
    variable('event', eventExpression(entry.event)),
    variable('eventDate', '%event.executionPeriod.end.addCalendarDays(0)'),
    variable('due', '%event.restriction.period.end.addCalendarDays(0)'),
    variable(
      'inPeriod',
      '%eventDate.where(%periodStart.calendarDaysUntil($this) >= 0 and ' +
        '$this.calendarDaysUntil(%periodEnd) >= 0).exists()',
    ),
    ...(entry.variables ?? []).map((v) => variable(v.name, v.expression)),
  ];
}

function evidence(status: Status, fact: string | undefined, note?: string, sources: string[] = []): Extension {
  return {
    url: EVIDENCE,
    extension: [
      { url: 'status', valueCode: status },
      ...(fact ? [{ url: 'fact', valueString: fact }] : []),
      ...(note ? [{ url: 'note', valueString: note }] : []),
      ...sources.map((s) => ({ url: 'source', valueUri: s })),
    ],
  };
}

/** The standard populations of "a milestone within its pathway time" for the entry's pathways. */
function withinTime(entry: Entry): Record<string, PopulationEntry> {
  const which = (entry.pathways ?? []).map((p) => `%pathway = '${p}'`).join(' or ');
  return {
    'initial-population': {
      expression: `%inPeriod and (${which})`,
      description: `${entry.pathways?.join(', ')} pathways with the milestone dated in the period.`,
      status: 'verified',
    },
    denominator: { expression: 'true', description: 'The initial population.', status: 'verified' },
    numerator: {
      expression: '%due.where(%eventDate.calendarDaysUntil($this) >= 0).exists()',
      description: 'Done on or before its due date.',
      status: 'verified',
    },
    'denominator-exception': {
      expression: '%due.empty()',
      description: 'No pathway time known for the milestone (no due date).',
      status: 'inferred',
    },
  };
}

function population(code: string, p: PopulationEntry): MeasureGroupPopulation {
  return {
    extension: [
      evidence(p.status, undefined, p.note),
      ...(p.aggregate ? [{ url: AGGREGATE, valueCode: p.aggregate }] : []),
    ],
    code: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/measure-population', code }] },
    description: p.description,
    criteria: { language: (p.language ?? 'text/fhirpath') as 'text/fhirpath', expression: p.expression },
  };
}

const TERTIAL =
  "%eventDate.substring(0, 4) + '-T' + " +
  "iif(%eventDate.substring(5, 2).toInteger() <= 4, '1', iif(%eventDate.substring(5, 2).toInteger() <= 8, '2', '3'))";
const STRATA: Record<string, { code: string; display: string; expression: string }> = {
  unit: { code: 'unit', display: 'Enhet (EpisodeOfCare.managingOrganization)', expression: '%unit' },
  pathway: { code: 'pathway', display: 'Forløp (Volven 9321)', expression: '%pathway' },
  setting: { code: 'care-level', display: 'Omsorgsnivå (AMB poliklinikk, IMP døgn)', expression: '%setting' },
  month: { code: 'month', display: 'Måned (hendelsens dato, Oslo)', expression: '%eventDate.substring(0, 7)' },
  tertial: { code: 'tertial', display: 'Tertial (T1 jan–apr, T2 mai–aug, T3 sep–des)', expression: TERTIAL },
  severity: { code: 'severity', display: 'Alvorlighet (D08)', expression: '%severity' },
};

function stratifiers(entry: Entry): MeasureGroupStratifier[] {
  const noDates = entry.strata?.includes('no-dates');
  const names = [
    'unit',
    'pathway',
    'setting',
    ...(noDates ? [] : ['month', 'tertial']),
    ...(entry.strata ?? []).filter((s) => s in STRATA),
  ];
  const one = (name: string) => ({
    code: { text: STRATA[name].code },
    description: STRATA[name].display,
    criteria: fhirpath(STRATA[name].expression),
  });
  return [
    ...names.map(one),
    // R4 mea-1: a stratifier of components has no code or description of its own (its components have)
    {
      component: ['unit', 'pathway'].map((n) => ({
        code: { text: STRATA[n].code },
        description: STRATA[n].display,
        criteria: fhirpath(STRATA[n].expression),
      })),
    },
  ];
}

/** The verified pathway times an entry cites, with their sources: a citation that is not there fails the build. */
function limitArtifacts(entry: Entry): RelatedArtifact[] {
  return (entry.limits ?? []).flatMap((cited) => {
    const found = limits.filter((l) => l.pathway === cited.pathway && l.to.includes(cited.to));
    if (!found.length)
      throw new Error(
        `${entry.id}: no verified pathway time ${cited.pathway} → '${cited.to}' in forlopstider-verified.json`,
      );
    return [...new Set(found.map((l) => l.source.split(/\s*;\s*/)[0]))].map((url) => ({
      type: 'citation' as const,
      label: `forløpstid ${cited.pathway}`,
      display: `${cited.pathway} → ${found[0].to} (forlopstider-verified.json)`,
      url,
    }));
  });
}

function measure(entry: Entry): Measure {
  const populations = entry.populations === 'milestone-within-time' ? withinTime(entry) : entry.populations;
  const sources = [...(entry.evidence.source ?? []), ...(entry.target?.source ? [entry.target.source] : [])];
  const target: Extension[] = entry.target
    ? [
        {
          url: TARGET,
          extension: [
            { url: 'value', valueDecimal: entry.target.value },
            { url: 'status', valueCode: entry.target.status },
            { url: 'fact', valueString: entry.target.fact },
            ...(entry.target.source ? [{ url: 'source', valueUri: entry.target.source }] : []),
          ],
        },
      ]
    : [];
  const artifacts: RelatedArtifact[] = [
    ...[...new Set(sources)].map((url) => ({ type: 'documentation' as const, url })),
    ...limitArtifacts(entry),
  ];
  return {
    resourceType: 'Measure',
    id: entry.id,
    extension: [
      { url: BASIS, valueCode: 'CarePlan' },
      evidence(entry.evidence.status, entry.evidence.fact, undefined, entry.evidence.source),
      ...variables(entry),
    ],
    url: `${BASE}/Measure/${entry.id}`,
    version: data.version,
    name: entry.id
      .split('-')
      .map((w) => w[0].toUpperCase() + w.slice(1))
      .join('')
      .replace(/^(\d)/, 'M$1'),
    title: entry.title,
    status: 'active',
    experimental: entry.evidence.status === 'unverified',
    publisher: "Forløp (from Helsedirektoratet's and NPR's published indicators)",
    description: entry.description,
    ...(artifacts.length ? { relatedArtifact: artifacts } : {}),
    scoring: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/measure-scoring', code: entry.scoring }] },
    type: [
      {
        coding: [
          {
            system: 'http://terminology.hl7.org/CodeSystem/measure-type',
            code: entry.scoring === 'cohort' ? 'structure' : 'process',
          },
        ],
      },
    ],
    ...(entry.improvement
      ? {
          improvementNotation: {
            coding: [
              { system: 'http://terminology.hl7.org/CodeSystem/measure-improvement-notation', code: entry.improvement },
            ],
          },
        }
      : {}),
    group: [
      {
        ...(target.length ? { extension: target } : {}),
        code: { text: entry.title },
        population: Object.entries(populations).map(([code, p]) => population(code, p)),
        stratifier: stratifiers(entry),
      },
    ],
  };
}

for (const f of readdirSync(out).filter((f) => f.startsWith('Measure-'))) rmSync(join(out, f));
for (const entry of data.measures)
  writeFileSync(join(out, `Measure-${entry.id}.json`), `${JSON.stringify(measure(entry), null, 2)}\n`);
process.stdout.write(`Wrote ${data.measures.length} Measures to ${out}\n`);
