import { findOperation, runOperation } from '../fhir/operations/index.js';
import type { FhirRequest, FhirResponse } from '../fhir/request.js';
import { findRoute } from '../fhir/routes.js';
import type { Services } from '../fhir/services.js';
import { authorize, checkInstance, needsOf, type Need } from './authorize.js';
import type { Principal } from './principal.js';

export type Dispatch = (req: FhirRequest) => Promise<FhirResponse>;

/** What an operation request needs: the operation's own declaration, or reading its target. */
function operationNeeds(svc: Services, req: FhirRequest): { needs: Need[]; target: { type?: string; id?: string } } {
  const { op, target } = findOperation(svc, req);
  const needs = op.access?.(target) ?? [target.type ? { type: target.type, action: 'r' as const } : { type: '*', action: 'r' as const, whole: true }];
  return { needs, target };
}

/**
 * Every request — from HTTP, or an entry of a batch or transaction run through the same dispatch —
 * passes here: the route is found, the token's scopes checked against what it needs, a
 * patient-scoped token kept to its patient's resources, and only then is the handler run, with
 * services that carry the principal (so search limits, include filtering and write checks see it).
 * Without a principal (authentication off, or the server's own work) everything is allowed.
 */
export function dispatcher(services: Services): (principal?: Principal) => Dispatch {
  return (principal) => {
    const svc: Services = principal ? { ...services, principal } : services;
    const dispatch: Dispatch = async (req) => {
      const route = findRoute(req);
      if (svc.principal) {
        if (route.handler === runOperation) {
          const { needs, target } = operationNeeds(svc, req);
          authorize(svc, needs);
          if (target.type && target.id) await checkInstance(svc, target.type, target.id, 'r');
        } else {
          const needs = needsOf(req);
          authorize(svc, needs);
          if (route.level === 'instance' && req.path.length >= 2) await checkInstance(svc, req.path[0], req.path[1], needs[0].action);
        }
      }
      return route.handler(svc, req, dispatch);
    };
    return dispatch;
  };
}
