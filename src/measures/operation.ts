import type { MeasureReport } from '@medplum/fhirtypes';
import { create } from '../fhir/interactions/write.js';
import { writeResponse } from '../fhir/interactions/respond.js';
import type { Operation } from '../fhir/operations/types.js';
import { parsePrefer } from '../fhir/request.js';
import type { Services } from '../fhir/services.js';
import { authorize } from '../security/authorize.js';
import { EVALUATE_MEASURE } from './constants.js';
import { startAsync } from './async.js';
import { readInput } from './input.js';
import { runEvaluation } from './run.js';

/** What an evaluation reads: the Measure, and every pathway resource in scope, whoever's patient. */
const READS = ['CarePlan', 'Task', 'EpisodeOfCare', 'CareTeam', 'ServiceRequest', 'PlanDefinition'];

/** Stores a report as a new MeasureReport (validated like any write): 201 with its Location. */
export async function storeReport(svc: Services, report: MeasureReport, prefer: ReturnType<typeof parsePrefer>) {
  const result = await svc.store.transaction((tx) => create(svc, tx, 'MeasureReport', report));
  return writeResponse(svc, result, prefer);
}

/**
 * `Measure/$evaluate-measure` and `Measure/[id]/$evaluate-measure` (R4 §15.12.4.1; our
 * OperationDefinition says where we differ): evaluates an episode-based Measure whose criteria are
 * FHIRPath over the pathways of the period, for a patient, a reporting unit or a coordinator. GET
 * answers the MeasureReport; POST also stores it (201 + Location), so a figure can be cited later.
 * `Prefer: respond-async` answers 202 at once and stores the report when done (async.ts).
 */
export const evaluateMeasureOperation: Operation = {
  name: 'evaluate-measure',
  definition: EVALUATE_MEASURE,
  levels: ['type', 'instance'],
  resourceTypes: ['Measure'],
  methods: ['GET', 'POST'],
  access: () => [
    { type: 'Measure', action: 'r' },
    ...READS.map((type) => ({ type, action: 's' as const, whole: true })),
  ],
  async handler(svc, req, target) {
    const input = readInput(req, target.id ? 'instance' : 'type');
    const prefer = parsePrefer(req.headers.prefer);
    if (prefer.respondAsync) {
      authorize(svc, [
        { type: 'MeasureReport', action: 'c' },
        { type: 'Task', action: 'c' },
      ]);
      return startAsync(svc, target.id, input);
    }
    if (req.method === 'POST') authorize(svc, [{ type: 'MeasureReport', action: 'c' }]);
    const report = await runEvaluation(svc, target.id, input);
    if (req.method === 'GET') return { status: 200, resource: report };
    return storeReport(svc, report, prefer);
  },
};
