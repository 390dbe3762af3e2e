import { FhirError } from '../errors.js';
import { checkId } from '../ids.js';
import type { FhirRequest, FhirResponse } from '../request.js';
import type { Services } from '../services.js';
import { reindexOperation } from './reindex.js';
import type { Operation } from './types.js';
import { expandOperation } from '../../terminology/operations/expand.js';
import { lookupOperation, subsumesOperation } from '../../terminology/operations/lookup.js';
import { translateOperation } from '../../terminology/operations/translate.js';
import { codeSystemValidateCode, valueSetValidateCode } from '../../terminology/operations/validate-code.js';
import { validateOperation } from '../../validation/operation.js';
import { applyOperation } from '../../pathways/apply-operation.js';
import { deadlinesOperation } from '../../pathways/deadlines.js';
import { evaluateDeadlinesOperation } from '../../pathways/evaluate-operation.js';
import { registryReportOperation } from '../../registry/operation.js';
import { evaluateMeasureOperation } from '../../measures/operation.js';

/** Every operation the server offers; the same name may serve several types with different modules. */
export const OPERATIONS: Operation[] = [
  reindexOperation,
  expandOperation,
  valueSetValidateCode,
  codeSystemValidateCode,
  lookupOperation,
  subsumesOperation,
  translateOperation,
  validateOperation,
  applyOperation,
  deadlinesOperation,
  evaluateDeadlinesOperation,
  registryReportOperation,
  evaluateMeasureOperation,
];

/** The operation a request names, and its target; 404/405 when there is none. */
export function findOperation(svc: Services, req: FhirRequest): { op: Operation; target: { type?: string; id?: string } } {
  const name = req.path[req.path.length - 1].slice(1);
  const level = req.path.length === 1 ? 'system' : req.path.length === 2 ? 'type' : 'instance';
  const type = level === 'system' ? undefined : req.path[0];
  if (type && !svc.defs.resourceTypes.has(type)) throw new FhirError('not-found', { message: `Unknown resource type '${type}'`, code: 'not-supported' });
  const id = level === 'instance' ? checkId(req.path[1]) : undefined;
  const op = OPERATIONS.find((o) => o.name === name && o.levels.includes(level) && (!type || !o.resourceTypes || o.resourceTypes.includes(type)));
  if (!op) {
    throw new FhirError('not-found', { message: `Operation $${name} is not supported at ${level} level${type ? ` for ${type}` : ''}`, code: 'not-supported' });
  }
  if (!op.methods.includes(req.method as 'GET' | 'POST')) throw new FhirError('not-allowed', `$${name} takes ${op.methods.join(' or ')}`);
  return { op, target: { type, id } };
}

/** Runs `[base]/$op`, `[base]/[type]/$op` or `[base]/[type]/[id]/$op`. */
export async function runOperation(svc: Services, req: FhirRequest): Promise<FhirResponse> {
  const { op, target } = findOperation(svc, req);
  return op.handler(svc, req, target);
}
