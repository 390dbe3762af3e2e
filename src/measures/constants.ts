/** Canonical URLs and code systems the measures module reads and writes. */
export const FORLOP = 'http://forlop.no/fhir';

/** R4 has no Measure.basis: episode-based measures declare it with this extension (cqfmeasures). */
export const POPULATION_BASIS = 'http://hl7.org/fhir/us/cqfmeasures/StructureDefinition/cqfm-populationBasis';
/** A group's own scoring where a Measure mixes them (cqfmeasures); else Measure.scoring. */
export const GROUP_SCORING = 'http://hl7.org/fhir/us/cqfmeasures/StructureDefinition/cqfm-scoring';
/** How a continuous-variable measure's observations are aggregated (cqfmeasures). */
export const AGGREGATE_METHOD = 'http://hl7.org/fhir/us/cqfmeasures/StructureDefinition/cqfm-aggregateMethod';
/** R4 core: a named Expression, here evaluated per pathway and read as `%name` by later expressions. */
export const VARIABLE = 'http://hl7.org/fhir/StructureDefinition/variable';
/** Ours: the target a trust is held to (e.g. ≥ 80 %), with its source. */
export const MEASURE_TARGET = `${FORLOP}/StructureDefinition/measure-target`;
/** Ours: how sure a definition is ([V] verified, [I] inferred, [U] unverified) and where it is from. */
export const DEFINITION_EVIDENCE = `${FORLOP}/StructureDefinition/definition-evidence`;

export const MEASURE_POPULATION = 'http://terminology.hl7.org/CodeSystem/measure-population';
export const MEASURE_SCORING = 'http://terminology.hl7.org/CodeSystem/measure-scoring';
export const DATA_ABSENT = 'http://terminology.hl7.org/CodeSystem/data-absent-reason';

/** The operation's own definition (ours differs from HL7's: a unit as subject, bare years and months). */
export const EVALUATE_MEASURE = `${FORLOP}/OperationDefinition/Measure-evaluate-measure`;

/** The FHIRPath variables every criterion sees, besides those a Measure defines itself. */
export const CONTEXT_VARIABLES = [
  'tasks',
  'done',
  'plan',
  'episode',
  'careTeam',
  'referral',
  'periodStart',
  'periodEnd',
  'setting',
  'severity',
] as const;
