import type { ParametersParameter } from '@medplum/fhirtypes';
import { FhirError } from '../fhir/errors.js';
import { operationInput } from '../fhir/operations/parameters.js';
import type { Operation } from '../fhir/operations/types.js';
import type { Services } from '../fhir/services.js';
import { parsePeriod, type ReportPeriod } from './period.js';
import { reportingUnits, runRegistryReport, type RunResult } from './run.js';
import { resolveUnit } from './unit.js';

/** One unit's answer, as the parts of the response (one unit) or of its `unit-report` (every unit). */
function resultParts(result: RunResult, whole: boolean): ParametersParameter[] {
  const ref = (type: string, id: string) => ({ valueReference: { reference: `${type}/${id}` } });
  const problemsId = result.outcome.id as string;
  return [
    // one unit: the report itself; every unit: where each is (the answer stays small however many there are)
    { name: 'report', ...(whole ? { resource: result.firstPage } : ref('Bundle', result.firstPage.id as string)) },
    ...result.pages.map((id) => ({ name: 'page', ...ref('Bundle', id) })),
    { name: 'problems', ...(whole ? { resource: result.outcome } : ref('OperationOutcome', problemsId)) },
    { name: 'job', ...ref('Task', result.job.id as string) },
    { name: 'changed', valueBoolean: result.changed },
    ...(whole
      ? []
      : [
          { name: 'episodes', valueInteger: result.counts.episodes },
          { name: 'codes', valueInteger: result.counts.codes },
          { name: 'codes-with-problems', valueInteger: result.counts.problems },
        ]),
  ];
}

/**
 * Every unit with pathways (the schedule's list), one run after the other. Each run is its own job
 * and transaction, so a unit that fails does not undo the others: its part carries the
 * OperationOutcome of its failure instead of a report (the failed job Task records the detail).
 */
async function everyUnit(svc: Services, period: ReportPeriod): Promise<ParametersParameter[]> {
  const parts: ParametersParameter[] = [];
  for (const unit of await reportingUnits(svc)) {
    const named = { name: 'unit', valueReference: { reference: `Organization/${unit}` } };
    try {
      const result = await runRegistryReport(svc, { period, unit, outbox: svc.registryOutbox });
      parts.push({ name: 'unit-report', part: [named, ...resultParts(result, false)] });
    } catch (err) {
      // our own errors say what went wrong; anything else is not shown (the job Task keeps its message)
      const failure = err instanceof FhirError ? err : new FhirError('internal', 'The run failed (see its job Task)');
      parts.push({ name: 'unit-report', part: [named, { name: 'outcome', resource: failure.toOutcome() }] });
    }
  }
  return parts;
}

/**
 * `POST [base]/$registry-report` (`period`: 2026-10, 2026-T1 or 2026; `unit`: the reporting
 * Organization, see unit.ts): runs the registry report now — the same run as the schedule's (job
 * Task, lease, snapshot, validation, one transaction). With a unit it answers with the report Bundle
 * (its first page when it is stored as pages, with a reference to every page), the OperationOutcome
 * of the codes left out, the job and whether the stored report changed. Without one it reports every
 * unit with pathways, as the schedule does, and answers with one `unit-report` per unit.
 */
export const registryReportOperation: Operation = {
  name: 'registry-report',
  definition: 'http://forlop.no/fhir/OperationDefinition/registry-report',
  levels: ['system'],
  methods: ['POST'],
  // every pathway of the unit, whoever's patient: a system (or user) token, never one patient's
  access: () => [
    { type: '*', action: 'r', whole: true },
    { type: 'Bundle', action: 'u', whole: true },
    { type: 'Task', action: 'c', whole: true },
  ],
  async handler(svc, req) {
    const input = operationInput(req);
    const periods = input.get('period') ?? [];
    const units = input.get('unit') ?? [];
    if (periods.length !== 1 || typeof periods[0] !== 'string') {
      const message = 'period is required, once: a month (2026-10), a tertial (2026-T1) or a year (2026)';
      throw new FhirError('invalid', { message, expression: 'period' });
    }
    if (units.length > 1) {
      throw new FhirError('invalid', { message: 'Give one unit, or none (every unit)', expression: 'unit' });
    }
    const period = parsePeriod(periods[0]);
    if (!units.length) {
      return { status: 200, resource: { resourceType: 'Parameters', parameter: await everyUnit(svc, period) } };
    }
    const unit = await resolveUnit(svc, units[0]);
    const result = await runRegistryReport(svc, { period, unit, outbox: svc.registryOutbox });
    return { status: 200, resource: { resourceType: 'Parameters', parameter: resultParts(result, true) } };
  },
};
