import type { AuditEventAgent, Extension, Identifier, ProvenanceAgent } from '@medplum/fhirtypes';
import type { Principal } from './principal.js';

/**
 * How a HelseID principal appears in the audit trail (docs/security.md, "Who is in the audit trail"):
 * the person is the requesting agent — `who.identifier` their HPR number (or, without one, their
 * fødselsnummer), `altId` the fødselsnummer when the HPR number is the `who`, the `security_level` an
 * extension; the organisation is two more agents, the legal entity (`orgnr_parent`, type RESP) and the
 * point of care (`orgnr_child`, type LOC), each `who.identifier` an organisasjonsnummer; the client
 * application a fourth (DICOM 110150), by client id and HelseID client name.
 */
export const HPR_SYSTEM = 'urn:oid:2.16.578.1.12.4.1.4.4';
export const FNR_SYSTEM = 'urn:oid:2.16.578.1.12.4.1.4.1';
export const ORGNR_SYSTEM = 'urn:oid:2.16.578.1.12.4.1.4.101';
export const SECURITY_LEVEL_URL = 'http://forlop.no/fhir/StructureDefinition/helseid-security-level';

const PARTICIPATION = 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType';
const DCM = 'http://dicom.nema.org/resources/ontology/DCM';

/** The person's identifier and alternative id, and the security level, for the requesting agent. */
export function helseIdPerson(
  p: Principal,
): { identifier: Identifier; altId?: string; extension?: Extension[] } | undefined {
  const h = p.helseid;
  if (!h || (!h.hprNumber && !h.pid)) return undefined;
  const identifier = h.hprNumber ? { system: HPR_SYSTEM, value: h.hprNumber } : { system: FNR_SYSTEM, value: h.pid };
  return {
    identifier,
    ...(h.hprNumber && h.pid ? { altId: h.pid } : {}),
    ...(h.securityLevel !== undefined
      ? { extension: [{ url: SECURITY_LEVEL_URL, valueInteger: h.securityLevel }] }
      : {}),
  };
}

/** The organisation (legal entity, point of care) and the client application, as further agents. */
export function helseIdAgents(p: Principal | undefined): AuditEventAgent[] {
  const h = p?.helseid;
  if (!p || !h) return [];
  const agents: AuditEventAgent[] = [];
  const org = (value: string, code: string, display: string, role: string): AuditEventAgent => ({
    type: { coding: [{ system: PARTICIPATION, code, display }] },
    who: { identifier: { system: ORGNR_SYSTEM, value }, display: role },
    requestor: false,
  });
  if (h.orgnrParent) agents.push(org(h.orgnrParent, 'RESP', 'responsible party', 'legal entity (orgnr_parent)'));
  if (h.orgnrChild) agents.push(org(h.orgnrChild, 'LOC', 'location', 'point of care (orgnr_child)'));
  if (p.clientId || h.clientName)
    agents.push({
      type: { coding: [{ system: DCM, code: '110150', display: 'Application' }] },
      who: { identifier: { value: p.clientId ?? 'unknown' }, display: h.clientName },
      requestor: false,
    });
  return agents;
}

/** Provenance agents for a write by a HelseID principal: the person (author) and the organisation. */
export function helseIdProvenanceAgents(p: Principal | undefined): ProvenanceAgent[] {
  const person = p && helseIdPerson(p);
  const h = p?.helseid;
  if (!h) return [];
  const type = (code: string, display: string) => ({
    coding: [{ system: 'http://terminology.hl7.org/CodeSystem/provenance-participant-type', code, display }],
  });
  const out: ProvenanceAgent[] = [];
  if (person) out.push({ type: type('author', 'Author'), who: { identifier: person.identifier } });
  const orgnr = h.orgnrChild ?? h.orgnrParent;
  if (orgnr) {
    const onBehalfOf =
      h.orgnrChild && h.orgnrParent ? { identifier: { system: ORGNR_SYSTEM, value: h.orgnrParent } } : undefined;
    out.push({
      type: type('custodian', 'Custodian'),
      who: { identifier: { system: ORGNR_SYSTEM, value: orgnr } },
      ...(onBehalfOf ? { onBehalfOf } : {}),
    });
  }
  return out;
}
