import type { Request } from 'express';
import { asFhirError, FhirError } from '../fhir/errors.js';
import { boundJkt, type DpopVerifier } from '../security/dpop.js';
import { helseIdPrincipalOf, principalOf, type Principal } from '../security/principal.js';
import { TokenError, type TokenVerifier } from '../security/tokens.js';

const quoted = (s: string) => s.replace(/["\\]/g, '');
const TOKEN = /^(Bearer|DPoP)\s+([A-Za-z0-9\-._~+/]+=*)\s*$/i;

/** A 401 with the challenge of the scheme that failed and RFC 6750 / RFC 9449 §7.1 error parameters. */
function refused(scheme: string, e: TokenError, headers: Record<string, string> = {}): FhirError {
  return new FhirError('unauthorized', e.message, {
    ...headers,
    'WWW-Authenticate': `${scheme}, error="${e.code}", error_description="${quoted(e.message)}"`,
  });
}

/** What authentication reads of a request: an Express request's, or a websocket upgrade's (websocket.ts). */
export type AuthRequest = Pick<Request, 'headers' | 'headersDistinct' | 'method' | 'originalUrl' | 'socket'> & {
  res?: Request['res'];
};

const asTokenError = (err: unknown) =>
  err instanceof TokenError ? err : new TokenError('The access token is not valid', 'invalid_token');

/**
 * The access token of a request, verified: its principal, or 401 with a `WWW-Authenticate` challenge
 * that says what was wrong. `Authorization: Bearer` (RFC 6750) unless DPoP is required;
 * `Authorization: DPoP` with a `DPoP` proof header (RFC 9449 §7) when DPoP is allowed or required.
 */
export async function authenticate(req: AuthRequest, tokens: TokenVerifier, dpop?: DpopVerifier): Promise<Principal> {
  const header = req.headers.authorization;
  const mode = dpop?.settings.mode ?? 'off';
  const bearer = 'Bearer realm="forlop"';
  const dpopChallenge = `DPoP algs="${dpop?.settings.algorithms.join(' ') ?? ''}"`;
  const challenge = mode === 'off' ? bearer : mode === 'allowed' ? `${bearer}, ${dpopChallenge}` : dpopChallenge;
  if (!header)
    throw new FhirError(
      'unauthorized',
      `This server needs an access token (Authorization: ${mode === 'required' ? 'DPoP' : 'Bearer'} …)`,
      {
        'WWW-Authenticate': challenge,
      },
    );
  const match = TOKEN.exec(header);
  const scheme = match?.[1].toLowerCase();
  if (dpop && mode !== 'off' && scheme === 'dpop') return dpopPrincipal(req, tokens, dpop, match![2], dpopChallenge);
  if (scheme === 'bearer' && mode === 'required') {
    const message = req.headers.dpop
      ? 'A DPoP proof was sent with the Bearer scheme: send the token as Authorization: DPoP <token>'
      : 'This server accepts only DPoP-bound access tokens (Authorization: DPoP <token> and a DPoP proof)';
    throw refused(dpopChallenge, new TokenError(message, 'invalid_token'));
  }
  if (scheme !== 'bearer' && mode === 'required')
    throw refused(dpopChallenge, new TokenError('The Authorization header must be "DPoP <token>"', 'invalid_request'));
  if (scheme !== 'bearer') {
    throw new FhirError('unauthorized', 'The Authorization header must be "Bearer <token>"', {
      'WWW-Authenticate':
        'Bearer realm="forlop", error="invalid_request", error_description="Authorization must be a Bearer token"',
    });
  }
  try {
    const claims = await tokens.verify(match![2]);
    // RFC 9449 §7.1: a DPoP-bound token is not a bearer token; sent as one it could be a stolen copy
    if (mode !== 'off' && boundJkt(claims))
      throw new TokenError(
        'This access token is DPoP-bound (cnf.jkt): send it as Authorization: DPoP with a proof',
        'invalid_token',
      );
    return principalFrom(tokens, claims, req.socket.remoteAddress);
  } catch (err) {
    throw refused(bearer, asTokenError(err));
  }
}

function principalFrom(tokens: TokenVerifier, claims: Record<string, unknown>, address?: string): Principal {
  const helseid = tokens.helseid;
  return helseid ? helseIdPrincipalOf(claims, helseid, address) : principalOf(claims, address);
}

/**
 * `Authorization: DPoP <token>`: exactly one `DPoP` header (RFC 9449 §4.3 step 1), the proof checked
 * (dpop.ts), the token verified, and the token bound to the proof's key (`cnf.jkt`, §6.1). A proof's
 * fault is `invalid_dpop_proof` (or `use_dpop_nonce`, with a fresh `DPoP-Nonce`); a token's `invalid_token`.
 */
async function dpopPrincipal(
  req: AuthRequest,
  tokens: TokenVerifier,
  dpop: DpopVerifier,
  token: string,
  challenge: string,
): Promise<Principal> {
  const nonce: Record<string, string> = dpop.nonces ? { 'DPoP-Nonce': dpop.nonces.current() } : {};
  const proofs = req.headersDistinct.dpop ?? [];
  try {
    if (proofs.length !== 1)
      throw new TokenError(
        proofs.length ? 'A request must carry exactly one DPoP header' : 'A DPoP token needs a DPoP proof header',
        'invalid_dpop_proof',
      );
    const method = (req.res?.locals.clientMethod as string | undefined) ?? req.method; // HEAD, seen as GET
    const { jkt } = await dpop.verify(proofs[0], method, req.originalUrl, token);
    const claims = await tokens.verify(token);
    const bound = boundJkt(claims);
    if (!bound) throw new TokenError('The access token is not DPoP-bound (it has no cnf.jkt)', 'invalid_token');
    if (bound !== jkt)
      throw new TokenError("The access token is bound to another key than the DPoP proof's (cnf.jkt)", 'invalid_token');
    return { ...principalFrom(tokens, claims, req.socket.remoteAddress), dpopJkt: jkt };
  } catch (err) {
    // the replay cache's database away is no fault of the client's: 503 with Retry-After, not 401
    const fe = err instanceof TokenError ? undefined : asFhirError(err);
    if (fe?.category === 'transient' || fe?.category === 'insufficient-storage') throw fe;
    throw refused(challenge, asTokenError(err), nonce);
  }
}
