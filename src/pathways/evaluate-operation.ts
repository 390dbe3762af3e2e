import type { Operation } from '../fhir/operations/types.js';
import { evaluateAll } from './evaluate.js';

/**
 * `[base]/$evaluate-deadlines`: runs the scheduled deadline evaluation now (every active pathway the date has changed:
 * businessStatus of each milestone, one DetectedIssue per breach) and says what it did.
 */
export const evaluateDeadlinesOperation: Operation = {
  name: 'evaluate-deadlines',
  definition: 'http://forlop.no/fhir/OperationDefinition/evaluate-deadlines',
  levels: ['system'],
  methods: ['POST'],
  // every patient's pathways: a system (or user) token, never one patient's
  access: () => [
    { type: 'Task', action: 'u', whole: true },
    { type: 'DetectedIssue', action: 'c', whole: true },
  ],
  async handler(svc) {
    const started = performance.now();
    const r = await evaluateAll(svc);
    return {
      status: 200,
      resource: {
        resourceType: 'Parameters',
        parameter: [
          { name: 'carePlans', valueInteger: r.carePlans },
          { name: 'updated', valueInteger: r.updated },
          { name: 'breaches', valueInteger: r.breaches },
          { name: 'milliseconds', valueInteger: Math.round(performance.now() - started) },
        ],
      },
    };
  },
};
