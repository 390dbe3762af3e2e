import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ProtectedHeaderParameters } from 'jose';
import { TokenError } from './tokens-error.js';

/**
 * HelseID (Norsk helsenett) as this server reads its access tokens: which `typ` and `alg` values are
 * accepted, where the person, the organisation and the security level are, and how the API's HelseID
 * scopes map to SMART-style scopes. The facts live in config/helseid.json, not here: NHN may change them.
 */
export interface HelseIdProfile {
  accessTokenTypes: string[];
  tokenAlgorithms: string[];
  proofAlgorithms: string[];
  claims: Record<keyof HelseIdIdentity | 'securityLevel', string>;
  /** Scopes beginning with this are the API's own: each must be in the map, or the token is refused. */
  apiScopePrefix: string;
  /** A HelseID scope → the SMART scopes it grants (`nhn:forlop/read` → `user/*.rs`). */
  scopeMap: Record<string, string[]>;
}

/** HelseID settings in force: the profile's facts and what this deployment asks of writes. */
export interface HelseIdSettings extends HelseIdProfile {
  /** The least `security_level` a write needs (4: high, BankID-like; WRITE_SECURITY_LEVEL). */
  writeSecurityLevel: number;
}

/** Who a HelseID token speaks for: the person, the organisation (legal entity, point of care), the client. */
export interface HelseIdIdentity {
  /** Fødselsnummer or D-number of the person (absent for a system's own token). */
  pid?: string;
  /** The person's HPR number (helsepersonellnummer). */
  hprNumber?: string;
  /** The legal entity (organisasjonsnummer of the hovedenhet). */
  orgnrParent?: string;
  /** The point of care (underenhet / behandlingssted). */
  orgnrChild?: string;
  clientName?: string;
  /** The trust-framework attestation (`authorization_details`), kept as given for the audit trail. */
  attestation?: unknown;
}

const SHIPPED = join(import.meta.dirname, '../../config/helseid.json');

/** The shipped profile (config/helseid.json), with the scope map replaced when one is configured. */
export function loadHelseIdProfile(scopeMap?: Record<string, string[]>): HelseIdProfile {
  const shipped = JSON.parse(readFileSync(SHIPPED, 'utf8')) as HelseIdProfile;
  return scopeMap ? { ...shipped, scopeMap } : shipped;
}

/** NHN: the access token's `typ` must be `at+jwt` or `JWT`; any other value (or none) is refused. */
export function checkAccessTokenType(header: ProtectedHeaderParameters, profile: HelseIdProfile): void {
  const typ = header.typ;
  if (typeof typ !== 'string' || !profile.accessTokenTypes.some((t) => t.toLowerCase() === typ.toLowerCase()))
    throw new TokenError(
      `The access token's typ '${String(typ ?? '')}' is not one HelseID issues (${profile.accessTokenTypes.join(', ')})`,
      'invalid_token',
    );
}

/** The identity claims of a verified token, where present and strings (the attestation as it is). */
export function identityOf(claims: Record<string, unknown>, profile: HelseIdProfile): HelseIdIdentity {
  const str = (name: string) => {
    const v = claims[name];
    return typeof v === 'string' && v ? v : typeof v === 'number' ? String(v) : undefined;
  };
  const c = profile.claims;
  const attestation = claims[c.attestation];
  return {
    pid: str(c.pid),
    hprNumber: str(c.hprNumber),
    orgnrParent: str(c.orgnrParent),
    orgnrChild: str(c.orgnrChild),
    clientName: str(c.clientName),
    ...(attestation !== undefined ? { attestation } : {}),
  };
}

/** `security_level` (2, 3 or 4; a string in HelseID's tokens), or undefined when absent or not a level. */
export function securityLevelOf(claims: Record<string, unknown>, profile: HelseIdProfile): number | undefined {
  const v = claims[profile.claims.securityLevel];
  const n = typeof v === 'number' ? v : typeof v === 'string' && /^\d$/.test(v) ? Number(v) : NaN;
  return Number.isInteger(n) ? n : undefined;
}

/**
 * The SMART scopes a token's HelseID scopes grant. Scopes of other APIs and HelseID's identity scopes
 * (`openid`, `helseid://scopes/…`) grant nothing here; a scope of this API the map does not know is
 * refused (NHN: the scopes must agree with those set up in HelseID Selvbetjening — a mismatch is a
 * configuration error to be seen, not access to be guessed).
 */
export function mapScopes(scope: string, profile: HelseIdProfile): string {
  const granted: string[] = [];
  for (const s of scope.split(/\s+/).filter(Boolean)) {
    const mapped = profile.scopeMap[s];
    if (mapped) granted.push(...mapped);
    else if (s.startsWith(profile.apiScopePrefix))
      throw new TokenError(`The token's scope '${s}' is not one this API knows (HELSEID_SCOPE_MAP)`, 'invalid_token');
  }
  return [...new Set(granted)].join(' ');
}
