import type { Resource } from '@medplum/fhirtypes';
import { asFhirError } from '../fhir/errors.js';
import { findOperation, runOperation } from '../fhir/operations/run.js';
import type { FhirRequest, FhirResponse } from '../fhir/request.js';
import { findRoute, type Route } from '../fhir/routes.js';
import type { Services } from '../fhir/services.js';
import type { VersionRow } from '../fhir/store.js';
import { auditEvent, provenanceOf, writeAudit, type AuditLog, type AuditedRequest } from './audit.js';
import { authorize, checkInstance, needsOf, type Need } from './authorize.js';
import { compartmentParams } from './compartment.js';
import type { Principal } from './principal.js';

export type Dispatch = (req: FhirRequest) => Promise<FhirResponse>;

/** What an operation request needs: the operation's own declaration, or reading its target. */
function operationNeeds(svc: Services, req: FhirRequest): { needs: Need[]; target: { type?: string; id?: string } } {
  const { op, target } = findOperation(svc, req);
  const needs = op.access?.(target) ?? [target.type ? { type: target.type, action: 'r' as const } : { type: '*', action: 'r' as const, whole: true }];
  return { needs, target };
}

async function authorizeRequest(svc: Services, route: Route, req: FhirRequest): Promise<void> {
  if (route.handler === runOperation) {
    const { needs, target } = operationNeeds(svc, req);
    authorize(svc, needs);
    if (target.type && target.id) await checkInstance(svc, target.type, target.id, 'r');
    return;
  }
  const needs = needsOf(route, req);
  authorize(svc, needs);
  // reads of one resource are kept to the patient here; writes are, under their lock, in write.ts
  if (route.level === 'instance' && req.path.length >= 2 && needs[0].action === 'r') await checkInstance(svc, req.path[0], req.path[1], 'r');
}

/** Patient data is what the trail is for: requests on patients' resources, and every system-level one. */
function touchesPatientData(svc: Services, req: FhirRequest): boolean {
  const type = req.path[0];
  if (!type || type.startsWith('$') || type === '_history') return type !== 'metadata';
  const target = req.path.length === 3 && !req.path[2].startsWith('$') && req.path[2] !== '_history' ? req.path[2] : type;
  return target === 'Patient' || compartmentParams(svc, target) !== undefined;
}

/** The resources a response shows (a read's resource, a search's entries), for the audit's entities. */
function shown(out: FhirResponse): { reference: string; resource?: Resource }[] {
  const resource = out.resource ?? (out.raw ? (JSON.parse(out.raw) as Resource) : undefined);
  if (!resource) return [];
  const list = resource.resourceType === 'Bundle' ? (resource.entry ?? []).map((e) => e.resource).filter((r): r is Resource => r !== undefined) : [resource];
  return list.filter((r) => r.id && r.resourceType !== 'OperationOutcome').map((r) => ({ reference: `${r.resourceType}/${r.id}`, resource: r }));
}

const written = (rows: VersionRow[]) => rows.map((r) => ({ reference: `${r.type}/${r.id}/_history/${r.version}`, resource: r.content ? (JSON.parse(r.content) as Resource) : undefined }));

/**
 * Every request — from HTTP, or an entry of a batch or transaction run through the same dispatch —
 * passes here: the route is found, the token's scopes checked against what it needs, a
 * patient-scoped token kept to its patient's resources, and only then is the handler run, with
 * services that carry the principal (so search limits, include filtering and write checks see it).
 * With an audit log, each request on patient data leaves an AuditEvent: a write's in its own
 * transaction (with the client's `X-Provenance` as a Provenance), anything else's through the log.
 * Without a principal (authentication off, or the server's own work) everything is allowed.
 */
export function dispatcher(services: Services, audit?: AuditLog): (principal?: Principal, address?: string) => Dispatch {
  return (principal, address) => {
    const base: Services = principal ? { ...services, principal } : services;
    // SearchParameters another API node wrote: checked once per request, not per Bundle entry
    let synced: Promise<void> | undefined;
    const sync = () => (synced ??= services.refreshDefinitions());
    const dispatch: Dispatch = async (req) => {
      const route = findRoute(req);
      const audited = audit !== undefined && touchesPatientData(base, req);
      if (!audited) {
        await sync();
        if (base.principal) await authorizeRequest(base, route, req);
        return route.handler(base, req, dispatch);
      }
      const context: AuditedRequest = { req, interaction: route.interaction ?? (route.handler === runOperation ? 'operation' : 'read'), principal, address };
      let committed = false;
      const svc: Services = {
        ...base,
        store: base.store.withCommitHook(async (tx, rows) => {
          committed = true;
          const now = base.clock.now();
          await writeAudit(base.store, tx, auditEvent(context, now, 200, written(rows)));
          if (req.headers.provenance) await writeAudit(base.store, tx, provenanceOf(req.headers.provenance, rows, now));
        }),
      };
      try {
        await sync();
        if (svc.principal) await authorizeRequest(svc, route, req);
        const out = await route.handler(svc, req, dispatch);
        if (!committed) audit.add(auditEvent(context, base.clock.now(), out.status, shown(out)));
        return out;
      } catch (err) {
        const fe = asFhirError(err);
        audit.add(auditEvent(context, base.clock.now(), fe.status, [], fe.message.slice(0, 500)));
        throw err;
      }
    };
    return dispatch;
  };
}
