import type {
  CodeableConcept,
  Expression,
  Extension,
  Measure,
  MeasureGroup,
  MeasureGroupStratifier,
} from '@medplum/fhirtypes';
import { parse } from 'fhirpath';
import { FhirError } from '../fhir/errors.js';
import {
  AGGREGATE_METHOD,
  CONTEXT_VARIABLES,
  GROUP_SCORING,
  MEASURE_POPULATION,
  MEASURE_SCORING,
  POPULATION_BASIS,
  VARIABLE,
} from './constants.js';

export type Scoring = 'proportion' | 'ratio' | 'continuous-variable' | 'cohort';
export type PopulationCode =
  | 'initial-population'
  | 'numerator'
  | 'numerator-exclusion'
  | 'denominator'
  | 'denominator-exclusion'
  | 'denominator-exception'
  | 'measure-population'
  | 'measure-population-exclusion'
  | 'measure-observation';
export type Aggregate = 'sum' | 'average' | 'median' | 'minimum' | 'maximum' | 'count';

/** One expression of the Measure, with where it stands (for the OperationOutcome's `expression`). */
export interface Criterion {
  language: 'text/fhirpath' | 'application/x-fhir-query';
  expression: string;
  /** e.g. `Measure.group[0].population[2].criteria` */
  path: string;
}

export interface Variable {
  name: string;
  criterion: Criterion;
}

export interface StratifierDef {
  code?: CodeableConcept;
  /** One part (the stratifier's own criteria) or its components, each with its code. */
  parts: { code?: CodeableConcept; criterion: Criterion }[];
  components: boolean;
}

export interface GroupDef {
  code?: CodeableConcept;
  scoring: Scoring;
  populations: Map<PopulationCode, Criterion>;
  aggregate: Aggregate;
  stratifiers: StratifierDef[];
  /** The group's own extensions (a target), carried to the report's group. */
  extension?: Extension[];
}

export interface MeasureDef {
  measure: Measure;
  /** `url|version`, as MeasureReport.measure names it. */
  canonical: string;
  variables: Variable[];
  groups: GroupDef[];
}

/** R4 §15.12 Measure: which populations each scoring has, and which it must have. */
const POPULATIONS: Record<Scoring, { allowed: PopulationCode[]; required: PopulationCode[] }> = {
  proportion: {
    allowed: [
      'initial-population',
      'denominator',
      'denominator-exclusion',
      'numerator',
      'numerator-exclusion',
      'denominator-exception',
    ],
    required: ['initial-population', 'denominator', 'numerator'],
  },
  ratio: {
    allowed: ['initial-population', 'denominator', 'denominator-exclusion', 'numerator', 'numerator-exclusion'],
    required: ['initial-population', 'denominator', 'numerator'],
  },
  'continuous-variable': {
    allowed: ['initial-population', 'measure-population', 'measure-population-exclusion', 'measure-observation'],
    required: ['initial-population', 'measure-population', 'measure-observation'],
  },
  cohort: { allowed: ['initial-population'], required: ['initial-population'] },
};
const AGGREGATES = new Set<Aggregate>(['sum', 'average', 'median', 'minimum', 'maximum', 'count']);
const NAME = /^[A-Za-z][A-Za-z0-9_]{0,63}$/;

function unprocessable(
  message: string,
  expression: string,
  code: 'invalid' | 'not-supported' | 'required' = 'invalid',
): FhirError {
  return new FhirError('unprocessable', { message, code, expression });
}

/** An Expression as a criterion: FHIRPath everywhere; a FHIR query only where `query` allows (populations). */
function criterionOf(e: Expression | undefined, path: string, query: boolean): Criterion {
  if (!e) throw unprocessable(`${path} is missing`, path, 'required');
  const allowed = query ? ['text/fhirpath', 'application/x-fhir-query'] : ['text/fhirpath'];
  if (!allowed.includes(e.language as string)) {
    throw unprocessable(
      `${path}.language '${e.language ?? ''}' is not evaluated here: ` +
        `use ${allowed.join(' or ')} (this server has no CQL engine)`,
      `${path}.language`,
      'not-supported',
    );
  }
  if (typeof e.expression !== 'string' || !e.expression.trim())
    throw unprocessable(`${path}.expression is missing`, `${path}.expression`, 'required');
  if (e.language === 'text/fhirpath' && !PARSED.has(e.expression)) {
    try {
      parse(e.expression);
      // bounded: stored Measures hold a few hundred expressions, not tens of thousands
      if (PARSED.size > 10_000) PARSED.clear();
      PARSED.add(e.expression);
    } catch (err) {
      throw unprocessable(`${path}.expression is not FHIRPath: ${fhirpathMessage(err)}`, `${path}.expression`);
    }
  }
  return { language: e.language as Criterion['language'], expression: e.expression, path };
}

/**
 * Expressions known to parse: reading a Measure parses each of its expressions (about 14 ms for a
 * shipped one, most of a patient's report), once per text in the process is enough.
 */
const PARSED = new Set<string>();

/** fhirpath.js throws errors without a message for parse failures: the parser's own text, briefly. */
export function fhirpathMessage(err: unknown): string {
  const e = err as { message?: string; errors?: unknown[][] };
  const parserText = e.errors?.[0]?.[4];
  return String(typeof parserText === 'string' ? parserText : e.message || err).slice(0, 300);
}

function codeOf(cc: CodeableConcept | undefined, system: string): string | undefined {
  return cc?.coding?.find((c) => c.system === system)?.code ?? cc?.coding?.[0]?.code;
}

function scoringOf(measure: Measure, group: MeasureGroup, g: number): Scoring {
  const own = group.extension?.find((e) => e.url === GROUP_SCORING)?.valueCodeableConcept;
  const code = codeOf(own ?? measure.scoring, MEASURE_SCORING);
  if (code && code in POPULATIONS) return code as Scoring;
  const where = own ? `Measure.group[${g}].extension` : 'Measure.scoring';
  throw unprocessable(
    `${where}: scoring is proportion, ratio, continuous-variable or cohort${code ? `, not '${code}'` : ''}`,
    where,
    'required',
  );
}

function populationsOf(
  group: MeasureGroup,
  g: number,
  scoring: Scoring,
): { populations: Map<PopulationCode, Criterion>; aggregate: Aggregate } {
  const populations = new Map<PopulationCode, Criterion>();
  let aggregate: Aggregate = 'median';
  (group.population ?? []).forEach((p, j) => {
    const path = `Measure.group[${g}].population[${j}]`;
    const code = codeOf(p.code, MEASURE_POPULATION) as PopulationCode | undefined;
    if (!code || !POPULATIONS[scoring].allowed.includes(code)) {
      throw unprocessable(
        `${path}.code: a ${scoring} measure has ${POPULATIONS[scoring].allowed.join(', ')}` +
          (code ? `, not '${code}'` : ''),
        `${path}.code`,
      );
    }
    if (populations.has(code)) throw unprocessable(`${path}.code: ${code} is given twice in the group`, `${path}.code`);
    populations.set(code, criterionOf(p.criteria, `${path}.criteria`, code !== 'measure-observation'));
    const method = p.extension?.find((e) => e.url === AGGREGATE_METHOD)?.valueCode;
    if (method !== undefined && !AGGREGATES.has(method as Aggregate)) {
      throw unprocessable(
        `${path}.extension: aggregateMethod is one of ${[...AGGREGATES].join(', ')}, not '${method}'`,
        `${path}.extension`,
      );
    }
    if (method) aggregate = method as Aggregate;
  });
  const missing = POPULATIONS[scoring].required.filter((c) => !populations.has(c));
  if (missing.length)
    throw unprocessable(
      `Measure.group[${g}] (${scoring}) has no ${missing.join(', ')}`,
      `Measure.group[${g}].population`,
      'required',
    );
  return { populations, aggregate };
}

function stratifierOf(s: MeasureGroupStratifier, path: string): StratifierDef {
  if (s.criteria && s.component?.length)
    throw unprocessable(`${path} has criteria and components: give one of them`, path);
  if (s.criteria)
    return {
      code: s.code,
      parts: [{ code: s.code, criterion: criterionOf(s.criteria, `${path}.criteria`, false) }],
      components: false,
    };
  if (!s.component?.length) throw unprocessable(`${path} has neither criteria nor components`, path, 'required');
  const parts = s.component.map((c, k) => ({
    code: c.code,
    criterion: criterionOf(c.criteria, `${path}.component[${k}].criteria`, false),
  }));
  return { code: s.code, parts, components: true };
}

function variablesOf(measure: Measure): Variable[] {
  const seen = new Set<string>(CONTEXT_VARIABLES);
  return (measure.extension ?? []).flatMap((e, i) => {
    if (e.url !== VARIABLE) return [];
    const path = `Measure.extension[${i}].valueExpression`;
    const name = e.valueExpression?.name;
    if (!name || !NAME.test(name) || seen.has(name)) {
      throw unprocessable(
        `${path}.name '${name ?? ''}' must be a new name (letters, digits, _), not one of ${[...seen].join(', ')}`,
        `${path}.name`,
      );
    }
    seen.add(name);
    return [{ name, criterion: criterionOf(e.valueExpression, path, false) }];
  });
}

/**
 * Reads a Measure into what evaluation needs, refusing (422, at the element) what this server cannot
 * evaluate: a population basis other than CarePlan, a scoring or population it does not know, a
 * criterion in a language other than FHIRPath (or a FHIR query for a population), FHIRPath that
 * does not parse.
 */
export function readMeasure(measure: Measure): MeasureDef {
  const basisIndex = (measure.extension ?? []).findIndex((e) => e.url === POPULATION_BASIS);
  const basis = measure.extension?.[basisIndex]?.valueCode;
  if (basis !== 'CarePlan') {
    const where = basisIndex >= 0 ? `Measure.extension[${basisIndex}]` : 'Measure.extension';
    throw unprocessable(
      `This server evaluates episode-based measures: the population basis (${POPULATION_BASIS}) must be CarePlan` +
        (basis ? `, not '${basis}'` : ''),
      where,
      basisIndex >= 0 ? 'not-supported' : 'required',
    );
  }
  if (!measure.group?.length) throw unprocessable('The Measure has no group', 'Measure.group', 'required');
  const variables = variablesOf(measure);
  const groups = measure.group.map((group, g): GroupDef => {
    const scoring = scoringOf(measure, group, g);
    const stratifiers = (group.stratifier ?? []).map((s, k) => stratifierOf(s, `Measure.group[${g}].stratifier[${k}]`));
    const extension = group.extension?.filter((e) => e.url !== GROUP_SCORING);
    return {
      code: group.code,
      scoring,
      ...populationsOf(group, g, scoring),
      stratifiers,
      ...(extension?.length ? { extension } : {}),
    };
  });
  const canonical = measure.url
    ? `${measure.url}${measure.version ? `|${measure.version}` : ''}`
    : `Measure/${measure.id}`;
  return { measure, canonical, variables, groups };
}
