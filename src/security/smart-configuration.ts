/** The SMART on FHIR discovery document's inputs (SMART App Launch v2, §Conformance). */
export interface SmartEndpoints {
  issuer: string;
  tokenEndpoint: string;
  authorizationEndpoint?: string;
  jwksUri?: string;
  /** AUTH_PROFILE=helseid: tokens are HelseID's; these are the HelseID scopes the API maps. */
  helseIdScopes?: string[];
  /** DPoP allowed or required: the proof algorithms accepted (RFC 9449 §5.1's metadata name). */
  dpop?: { required: boolean; algorithms: string[] };
}

/** `[base]/.well-known/smart-configuration`: where to get tokens, and what this server understands. */
export function smartConfiguration(e: SmartEndpoints): Record<string, unknown> {
  return {
    issuer: e.issuer,
    ...(e.jwksUri ? { jwks_uri: e.jwksUri } : {}),
    ...(e.authorizationEndpoint ? { authorization_endpoint: e.authorizationEndpoint } : {}),
    token_endpoint: e.tokenEndpoint,
    token_endpoint_auth_methods_supported: ['private_key_jwt', 'client_secret_basic'],
    grant_types_supported: ['client_credentials', ...(e.authorizationEndpoint ? ['authorization_code'] : [])],
    token_endpoint_auth_signing_alg_values_supported: ['RS256', 'ES256'],
    scopes_supported: [
      'system/*.cruds',
      'user/*.cruds',
      'patient/*.cruds',
      'system/*.read',
      'user/*.read',
      'patient/*.read',
      'launch/patient',
      'fhirUser',
      'openid',
    ],
    response_types_supported: ['code'],
    capabilities: [
      'client-confidential-asymmetric',
      'permission-v1',
      'permission-v2',
      'permission-patient',
      'permission-user',
      ...(e.authorizationEndpoint ? ['launch-standalone', 'context-standalone-patient'] : []),
    ],
    code_challenge_methods_supported: ['S256'],
    ...(e.helseIdScopes ? { scopes_supported: e.helseIdScopes } : {}),
    ...(e.dpop
      ? { dpop_signing_alg_values_supported: e.dpop.algorithms, dpop_bound_access_tokens_required: e.dpop.required }
      : {}),
  };
}

/**
 * `rest.security.description` of the CapabilityStatement: what tokens the server takes (SMART or
 * HelseID) and whether they must be DPoP-bound — the machine-readable half is the SMART document.
 */
export function describeSecurity<T extends { rest?: { security?: { description?: string } }[] }>(
  statement: T,
  e: SmartEndpoints,
): T {
  const security = statement.rest?.[0]?.security;
  if (!security) return statement;
  const tokens = e.helseIdScopes
    ? `HelseID access tokens (typ at+jwt or JWT) from ${e.issuer}, HelseID scopes mapped to SMART scopes (${e.helseIdScopes.join(', ')})`
    : `SMART on FHIR access tokens from ${e.issuer}`;
  const dpop = !e.dpop
    ? 'sent as Authorization: Bearer'
    : e.dpop.required
      ? `DPoP-bound only (Authorization: DPoP and a DPoP proof; ${e.dpop.algorithms.join(', ')})`
      : `as Bearer or DPoP-bound (Authorization: DPoP and a DPoP proof; ${e.dpop.algorithms.join(', ')})`;
  // the websocket (src/http/websocket.ts): the upgrade is the one HTTP request a proof can name
  const socket = !e.dpop?.required
    ? 'The websocket takes the same tokens on its upgrade request or in bind [id] [token]'
    : 'The websocket takes them on its upgrade request, with a DPoP proof of it (htm GET, htu the socket URL)';
  security.description = `${tokens}, ${dpop}. ${socket}. See [base]/.well-known/smart-configuration.`;
  return statement;
}
