import { FhirError } from '../errors.js';
import { checkId } from '../ids.js';
import type { FhirRequest, FhirResponse } from '../request.js';
import type { Services } from '../services.js';
import type { Operation } from './types.js';

/** The operation a request names, and its target; 404/405 when there is none. */
export function findOperation(
  svc: Services,
  req: FhirRequest,
): { op: Operation; target: { type?: string; id?: string } } {
  const name = req.path[req.path.length - 1].slice(1);
  const level = req.path.length === 1 ? 'system' : req.path.length === 2 ? 'type' : 'instance';
  const type = level === 'system' ? undefined : req.path[0];
  if (type && !svc.defs.resourceTypes.has(type))
    throw new FhirError('not-found', { message: `Unknown resource type '${type}'`, code: 'not-supported' });
  const id = level === 'instance' ? checkId(req.path[1]) : undefined;
  const op = svc.operations.find(
    (o) => o.name === name && o.levels.includes(level) && (!type || !o.resourceTypes || o.resourceTypes.includes(type)),
  );
  if (!op) {
    throw new FhirError('not-found', {
      message: `Operation $${name} is not supported at ${level} level${type ? ` for ${type}` : ''}`,
      code: 'not-supported',
    });
  }
  if (!op.methods.includes(req.method as 'GET' | 'POST' | 'DELETE'))
    throw new FhirError('not-allowed', `$${name} takes ${op.methods.join(' or ')}`);
  return { op, target: { type, id } };
}

/** Runs `[base]/$op`, `[base]/[type]/$op` or `[base]/[type]/[id]/$op`. */
export async function runOperation(svc: Services, req: FhirRequest): Promise<FhirResponse> {
  const { op, target } = findOperation(svc, req);
  return op.handler(svc, req, target);
}
