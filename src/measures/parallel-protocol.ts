import type { OperationOutcomeIssue, PlanDefinition } from '@medplum/fhirtypes';
import type { ErrorCategory } from '../fhir/errors.js';
import type { MeasureDef, PopulationCode } from './definition.js';
import type { StratumPlace } from './pathway.js';
import type { MeasurementPeriod } from './period.js';
import type { RawPathway } from './raw.js';

/** What an evaluation begins with in the worker: its Measure, period, time and scope. */
export interface EvaluationSetup {
  def: MeasureDef;
  period: MeasurementPeriod;
  /** The evaluation's clock, as an instant: `%now` and the deadline rules read it. */
  now: string;
  queries: [path: string, ids: string[]][];
  unit?: string;
  practitioner?: string;
}

/**
 * To the worker: an evaluation begins; a batch of its pathways, with the PlanDefinitions (by
 * canonical) not sent before; it ends. The worker serves one evaluation after another, or several.
 */
export type ToWorker =
  | { type: 'begin'; evaluation: number; setup: EvaluationSetup }
  | { type: 'batch'; evaluation: number; id: number; pathways: RawPathway[]; plans: [string, PlanDefinition | null][] }
  | { type: 'end'; evaluation: number };

/** One pathway's place in each group, as it crosses the threads (a Set becomes a list). */
export interface WireResult {
  members: PopulationCode[];
  observation?: number;
  strata: StratumPlace[];
}

/** A batch's answer: each pathway in scope with its groups, in order; or the error that stopped it. */
export interface BatchAnswer {
  id: number;
  results?: { id: string; groups: WireResult[] }[];
  /** A FhirError's category and issues (the Measure's 422), or any other error's message. */
  error?: { category?: ErrorCategory; issues?: OperationOutcomeIssue[]; message: string };
}
