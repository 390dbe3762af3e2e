// What security decides about one request: may the caller make it, and is it on patient data (for the
// audit trail). The request pipeline that asks it (route, authorize, audit, run) is src/app/pipeline.ts.
import type { Resource } from '@medplum/fhirtypes';
import { FhirError } from '../fhir/errors.js';
import { findOperation, runOperation } from '../fhir/operations/run.js';
import type { FhirRequest, FhirResponse } from '../fhir/request.js';
import type { Route } from '../fhir/routes.js';
import type { Services } from '../fhir/services.js';
import type { VersionRow } from '../fhir/store.js';
import { authorize, checkInstance, needsOf, type Need } from './authorize.js';
import { compartmentParams } from './compartment.js';

/** What an operation request needs: the operation's own declaration, or reading its target. */
function operationNeeds(svc: Services, req: FhirRequest): { needs: Need[]; target: { type?: string; id?: string } } {
  const { op, target } = findOperation(svc, req);
  const needs = op.access?.(target) ?? [
    target.type ? { type: target.type, action: 'r' as const } : { type: '*', action: 'r' as const, whole: true },
  ];
  return { needs, target };
}

/** Refuses a request (or Bundle entry) the caller's token does not reach: its needs, and a read's instance. */
export async function authorizeRequest(svc: Services, route: Route, req: FhirRequest): Promise<void> {
  if (route.handler === runOperation) {
    const { needs, target } = operationNeeds(svc, req);
    checkSecurityLevel(svc, needs);
    authorize(svc, needs);
    if (target.type && target.id) await checkInstance(svc, target.type, target.id, 'r');
    return;
  }
  const needs = needsOf(route, req);
  checkSecurityLevel(svc, needs);
  authorize(svc, needs);
  // reads of one resource are kept to the patient here; writes are, under their lock, in write.ts
  if (route.level === 'instance' && req.path.length >= 2 && needs[0].action === 'r')
    await checkInstance(svc, req.path[0], req.path[1], 'r');
}

/**
 * HelseID: a write on a person's behalf needs the configured `security_level` (4 by default). A
 * client's own token names no person and has no level: its writes are governed by its scopes alone.
 */
function checkSecurityLevel(svc: Services, needs: Need[]): void {
  const p = svc.principal;
  if (!p?.writeSecurityLevel || !needs.some((n) => n.action === 'c' || n.action === 'u' || n.action === 'd')) return;
  const person = p.helseid?.pid ?? p.helseid?.hprNumber;
  const level = p.helseid?.securityLevel;
  if (!person || (level !== undefined && level >= p.writeSecurityLevel)) return;
  throw new FhirError('forbidden', {
    message: `Writes need HelseID security level ${p.writeSecurityLevel}; this token's is ${level ?? 'not given'}`,
  });
}

/** Patient data is what the trail is for: requests on patients' resources, and every system-level one. */
export function touchesPatientData(svc: Services, req: FhirRequest): boolean {
  const type = req.path[0];
  if (!type || type.startsWith('$') || type === '_history') return type !== 'metadata';
  const target =
    req.path.length === 3 && !req.path[2].startsWith('$') && req.path[2] !== '_history' ? req.path[2] : type;
  return target === 'Patient' || compartmentParams(svc, target) !== undefined;
}

/** The resources a response shows (a read's resource, a search's entries), for the audit's entities. */
export function shown(out: FhirResponse): { reference: string; resource?: Resource }[] {
  if (out.text) return (out.shows ?? []).map((reference) => ({ reference }));
  const unparsed = out.raw && out.shows?.length === 1 ? unparsedRead(out.raw, out.shows[0]) : undefined;
  if (unparsed) return [unparsed];
  const resource = out.resource ?? (out.raw ? (JSON.parse(out.raw) as Resource) : undefined);
  if (!resource) return [];
  const list =
    resource.resourceType === 'Bundle'
      ? (resource.entry ?? []).map((e) => e.resource).filter((r): r is Resource => r !== undefined)
      : [resource];
  return list
    .filter((r) => r.id && r.resourceType !== 'OperationOutcome')
    .map((r) => ({ reference: `${r.resourceType}/${r.id}`, resource: r }));
}

/**
 * A read's resource as the audit needs it, without parsing: its reference and a stand-in holding its
 * type and id. Enough when the stored JSON (compact, as the store writes it) has no string starting
 * `Patient/`: then the only patient it can name is itself (patientsOf, audit.ts). Spares the read path
 * a JSON.parse of every resource it sends (issue 21: reads with the audit trail on).
 */
function unparsedRead(raw: string, reference: string): { reference: string; resource: Resource } | undefined {
  if (raw.includes('"Patient/')) return undefined;
  const [resourceType, id] = reference.split('/');
  return { reference, resource: { resourceType, id } as Resource };
}

export const written = (rows: VersionRow[]) =>
  rows.map((r) => ({
    reference: `${r.type}/${r.id}/_history/${r.version}`,
    resource: r.content ? (JSON.parse(r.content) as Resource) : undefined,
  }));
