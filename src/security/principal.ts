import { identityOf, mapScopes, securityLevelOf, type HelseIdIdentity, type HelseIdSettings } from './helseid.js';
import { parseScopes, type Action, type Grant } from './scopes.js';

/** Who is asking: from a verified access token (or the server itself, for its own work). */
export interface Principal {
  /** The token's `sub`. */
  subject: string;
  /** The client application (`client_id`, or `azp`). */
  clientId?: string;
  scope: string;
  grants: Grant[];
  /** SMART launch context: the patient a `patient/` scope is limited to (the `patient` claim). */
  patient?: string;
  /** The user's FHIR resource (`fhirUser`), e.g. `Practitioner/123`. */
  fhirUser?: string;
  /** The address the request came from. */
  address?: string;
  /** HelseID: the person, organisation and client the token speaks for, and its `security_level`. */
  helseid?: HelseIdIdentity & { securityLevel?: number };
  /** HelseID: the least security level a write needs (WRITE_SECURITY_LEVEL); none for SMART tokens. */
  writeSecurityLevel?: number;
  /** The token was sender-constrained by a DPoP proof: the thumbprint of the proof's key (RFC 9449 §6.1). */
  dpopJkt?: string;
}

export function principalOf(claims: Record<string, unknown>, address?: string): Principal {
  const scope = typeof claims.scope === 'string' ? claims.scope : Array.isArray(claims.scp) ? claims.scp.join(' ') : '';
  const str = (v: unknown) => (typeof v === 'string' && v ? v : undefined);
  return {
    subject: str(claims.sub) ?? 'unknown',
    clientId: str(claims.client_id) ?? str(claims.azp),
    scope,
    grants: parseScopes(scope),
    patient: str(claims.patient),
    fhirUser: str(claims.fhirUser),
    address,
  };
}

/**
 * A HelseID token's principal: its HelseID scopes mapped to SMART scopes (config/helseid.json or
 * HELSEID_SCOPE_MAP), the person and organisation claims, and the security level writes are held to.
 * `sub` of a client's own token is its client id (HelseID names no person then).
 */
export function helseIdPrincipalOf(
  claims: Record<string, unknown>,
  settings: HelseIdSettings,
  address?: string,
): Principal {
  const given =
    typeof claims.scope === 'string' ? claims.scope : Array.isArray(claims.scope) ? claims.scope.join(' ') : '';
  const scope = mapScopes(given, settings);
  const base = principalOf({ ...claims, scope, sub: claims.sub ?? claims.client_id }, address);
  return {
    ...base,
    helseid: { ...identityOf(claims, settings), securityLevel: securityLevelOf(claims, settings) },
    writeSecurityLevel: settings.writeSecurityLevel,
  };
}

/**
 * How far a principal may take an action on a type: on every resource (a `user/` or `system/` scope),
 * only in its patient's compartment (a `patient/` scope with a patient in the launch context), or not.
 * `user/` scopes are taken as the user's full rights: the server keeps no per-user access lists.
 */
export type Reach = 'all' | 'compartment' | 'none';

export function reach(p: Principal, type: string, action: Action): Reach {
  const matching = p.grants.filter((g) => (g.type === '*' || g.type === type) && g.actions.has(action));
  if (matching.some((g) => g.context !== 'patient')) return 'all';
  if (p.patient && matching.length) return 'compartment';
  return 'none';
}
