import { FhirError } from '../fhir/errors.js';
import { operationInput } from '../fhir/operations/parameters.js';
import type { Operation } from '../fhir/operations/types.js';
import { parsePeriod } from './period.js';
import { runRegistryReport } from './run.js';

/**
 * `POST [base]/$registry-report` (`period`: 2026-10, 2026-T1 or 2026; `unit`: the reporting
 * Organization, as `Organization/[id]` or its id): runs the registry report now — the same run as the
 * schedule's (job Task, lease, snapshot, validation, one transaction) — and answers with the report Bundle (its
 * first page when it is stored as pages, with a reference to every page), the OperationOutcome of the
 * codes left out, the job and whether the stored report changed.
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
    const period = input.get('period')?.[0];
    const unitValue = input.get('unit')?.[0];
    if (typeof period !== 'string') throw new FhirError('invalid', { message: 'period is required: a month (2026-10), a tertial (2026-T1) or a year (2026)', expression: 'period' });
    const unitRef = typeof unitValue === 'string' ? unitValue : (unitValue as { reference?: string } | undefined)?.reference;
    const unit = unitRef?.replace(/^Organization\//, '');
    if (!unit || !/^[A-Za-z0-9\-.]{1,64}$/.test(unit)) throw new FhirError('invalid', { message: 'unit is required: the reporting Organization (Organization/[id])', expression: 'unit' });
    const result = await runRegistryReport(svc, { period: parsePeriod(period), unit, outbox: svc.registryOutbox });
    return {
      status: 200,
      resource: {
        resourceType: 'Parameters',
        parameter: [
          { name: 'report', resource: result.firstPage },
          ...result.pages.map((id) => ({ name: 'page', valueReference: { reference: `Bundle/${id}` } })),
          { name: 'problems', resource: result.outcome },
          { name: 'job', valueReference: { reference: `Task/${result.job.id}` } },
          { name: 'changed', valueBoolean: result.changed },
        ],
      },
    };
  },
};
