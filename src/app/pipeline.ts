import { asFhirError } from '../fhir/errors.js';
import { runOperation } from '../fhir/operations/run.js';
import type { FhirRequest, FhirResponse } from '../fhir/request.js';
import { findRoute, type Route } from '../fhir/routes.js';
import type { Services } from '../fhir/services.js';
import { auditEvent, provenanceOf, writeAudit, type AuditLog, type AuditedRequest } from '../security/audit.js';
import type { Principal } from '../security/principal.js';
import { authorizeRequest, shown, touchesPatientData, written } from '../security/request-access.js';

export type Dispatch = (req: FhirRequest) => Promise<FhirResponse>;

/**
 * Interactions that read stored versions as they are, with no SearchParameter involved (no index
 * is written or searched): they need not wait for the check of SearchParameters another node wrote.
 */
const WITHOUT_SEARCH_PARAMETERS = new Set(['read', 'vread', 'history-instance', 'history-type', 'history-system']);

/**
 * Every request — from HTTP, or an entry of a batch or transaction run through the same dispatch —
 * passes here: the route is found, the token's scopes checked against what it needs, a
 * patient-scoped token kept to its patient's resources, and only then is the handler run, with
 * services that carry the principal (so search limits, include filtering and write checks see it).
 * With an audit log, each request on patient data leaves an AuditEvent: a write's in its own
 * transaction (with the client's `X-Provenance` as a Provenance), anything else's through the log.
 * Without a principal (authentication off, or the server's own work) everything is allowed.
 */
export function dispatcher(
  services: Services,
  audit?: AuditLog,
): (principal?: Principal, address?: string) => Dispatch {
  return (principal, address) => {
    // one request (a Bundle's entries too) shares the memo of what it reads once (fhir/ports.ts RequestMemo)
    const base: Services = { ...services, ...(principal ? { principal } : {}), requestMemo: new Map() };
    // SearchParameters another API node wrote: checked once per request, not per Bundle entry
    let synced: Promise<void> | undefined;
    const sync = (route: Route) =>
      WITHOUT_SEARCH_PARAMETERS.has(route.interaction ?? '') ? undefined : (synced ??= services.refreshDefinitions());
    const dispatch: Dispatch = async (req) => {
      const route = findRoute(req);
      const audited = audit !== undefined && touchesPatientData(base, req);
      if (!audited) {
        await sync(route);
        if (base.principal) await authorizeRequest(base, route, req);
        if (audit && mayReadAuditTrail(req)) await audit.journal.catchUp();
        return route.handler(base, req, dispatch);
      }
      const context: AuditedRequest = {
        req,
        interaction: route.interaction ?? (route.handler === runOperation ? 'operation' : 'read'),
        principal,
        address,
      };
      let committed = false;
      const svc: Services = {
        ...base,
        store: base.store.withCommitHook(async (tx, rows) => {
          committed = true;
          const now = base.clock.now();
          await audit.journal.append(tx, [auditEvent(context, now, 200, written(rows))]);
          if (req.headers.provenance)
            await writeAudit(base.store, tx, provenanceOf(req.headers.provenance, rows, now, principal));
        }),
      };
      try {
        await sync(route);
        if (svc.principal) await authorizeRequest(svc, route, req);
        if (mayReadAuditTrail(req)) await audit.journal.catchUp();
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

/**
 * Whether a request could read an AuditEvent, so the journal is materialised before it runs: anything
 * on AuditEvent, anything at system level (search, history, transactions, `$export`), any operation
 * (`Patient/$everything` reads the compartment, AuditEvent included) and any query naming the type
 * (`_revinclude=AuditEvent:patient`, `_type=AuditEvent`). Over-inclusive on purpose: with the journal
 * empty, the check is one index probe.
 */
function mayReadAuditTrail(req: FhirRequest): boolean {
  const first = req.path[0];
  if (first === undefined || first === 'AuditEvent' || /^[_$]/.test(first)) return true;
  if (req.path.some((segment) => segment.startsWith('$'))) return true;
  return req.query.some(([k, v]) => k.includes('AuditEvent') || v.includes('AuditEvent'));
}
