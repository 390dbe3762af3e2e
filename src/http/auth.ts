import type { Request } from 'express';
import { FhirError } from '../fhir/errors.js';
import { principalOf, type Principal } from '../security/principal.js';
import { TokenError, type TokenVerifier } from '../security/tokens.js';

const quoted = (s: string) => s.replace(/["\\]/g, '');

/**
 * The bearer token of a request (RFC 6750), verified: its principal, or 401 with a
 * `WWW-Authenticate` challenge that says what was wrong (no token, or an invalid one).
 */
export async function authenticate(req: Request, tokens: TokenVerifier): Promise<Principal> {
  const header = req.headers.authorization;
  const match = header ? /^Bearer\s+([A-Za-z0-9\-._~+/]+=*)\s*$/i.exec(header) : null;
  if (!header)
    throw new FhirError('unauthorized', 'This server needs an access token (Authorization: Bearer …)', {
      'WWW-Authenticate': 'Bearer realm="forlop"',
    });
  if (!match) {
    throw new FhirError('unauthorized', 'The Authorization header must be "Bearer <token>"', {
      'WWW-Authenticate':
        'Bearer realm="forlop", error="invalid_request", error_description="Authorization must be a Bearer token"',
    });
  }
  try {
    return principalOf(await tokens.verify(match[1]), req.socket.remoteAddress);
  } catch (err) {
    const e = err instanceof TokenError ? err : new TokenError('The access token is not valid', 'invalid_token');
    throw new FhirError('unauthorized', e.message, {
      'WWW-Authenticate': `Bearer realm="forlop", error="${e.code}", error_description="${quoted(e.message)}"`,
    });
  }
}
