/** A token (or DPoP proof) refused, with the RFC 6750 / RFC 9449 error code for WWW-Authenticate. */
export class TokenError extends Error {
  constructor(
    message: string,
    readonly code: 'invalid_token' | 'invalid_request' | 'invalid_dpop_proof' | 'use_dpop_nonce',
  ) {
    super(message);
  }
}
