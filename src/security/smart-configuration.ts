/** The SMART on FHIR discovery document's inputs (SMART App Launch v2, §Conformance). */
export interface SmartEndpoints {
  issuer: string;
  tokenEndpoint: string;
  authorizationEndpoint?: string;
  jwksUri?: string;
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
  };
}
