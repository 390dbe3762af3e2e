import { readFileSync } from 'node:fs';
import {
  createLocalJWKSet,
  createRemoteJWKSet,
  decodeProtectedHeader,
  errors,
  jwtVerify,
  type JWTVerifyGetKey,
} from 'jose';
import type { Clock } from '../fhir/clock.js';
import { checkAccessTokenType, type HelseIdSettings } from './helseid.js';
import { TokenError } from './tokens-error.js';

export { TokenError };

/** Where signing keys come from and what a token must say (SMART backend services / OAuth 2.0 bearer). */
export interface TokenConfig {
  issuer: string;
  /** The audience tokens are issued for: this server's base URL unless configured. */
  audience: string;
  /** A JWKS document: an https URL, or a file. */
  jwks?: string;
  /** A shared secret for HS256 — local development only (the server refuses it off loopback). */
  hs256Secret?: string;
  /** Seconds of clock skew tolerated on exp/nbf. */
  clockToleranceSeconds?: number;
  /** AUTH_PROFILE=helseid: tokens checked as NHN prescribes (typ, alg allow-list), claims read as HelseID's. */
  helseid?: HelseIdSettings;
  /** Told what is accepted but worth a look (HelseID: a token with more than one audience). */
  warn?: (message: string) => void;
}

/**
 * Verifies access tokens (JWTs) with jose: signature by the configured keys (RS256/ES256 from a
 * JWKS; HS256 only with a development secret), `iss`, `aud`, `exp` and `nbf` against the injected
 * clock. Returns the claims.
 */
export class TokenVerifier {
  private readonly keys?: JWTVerifyGetKey;
  private readonly secret?: Uint8Array;
  /** Tokens whose signature and claims verified, by their text: a client sends the same token for many requests. */
  private readonly verified = new Map<string, Record<string, unknown>>();

  constructor(
    private readonly config: TokenConfig,
    private readonly clock: Clock,
  ) {
    if (config.jwks) {
      this.keys = /^https?:\/\//.test(config.jwks)
        ? createRemoteJWKSet(new URL(config.jwks), { cacheMaxAge: 10 * 60_000, cooldownDuration: 30_000 })
        : createLocalJWKSet(JSON.parse(readFileSync(config.jwks, 'utf8')));
    }
    if (config.hs256Secret) this.secret = new TextEncoder().encode(config.hs256Secret);
    if (!this.keys && !this.secret)
      throw new Error('Token verification needs AUTH_JWKS (a JWKS URL or file) or, for development, AUTH_HS256_SECRET');
  }

  /**
   * A token seen before is not verified again: its signature cannot have changed, and its time
   * claims are checked here against the clock on every use (a cached token still expires).
   */
  async verify(token: string): Promise<Record<string, unknown>> {
    const known = this.verified.get(token);
    if (known) {
      const now = this.clock.now().getTime() / 1000;
      const skew = this.config.clockToleranceSeconds ?? 5;
      if (
        typeof known.exp === 'number' &&
        now - skew < known.exp &&
        (typeof known.nbf !== 'number' || now + skew >= known.nbf)
      )
        return known;
      this.verified.delete(token);
    }
    const claims = await this.check(token);
    if (this.verified.size >= 10_000) this.verified.delete(this.verified.keys().next().value as string);
    this.verified.set(token, claims);
    return claims;
  }

  /** The HelseID settings when tokens are HelseID's (AUTH_PROFILE=helseid). */
  get helseid(): HelseIdSettings | undefined {
    return this.config.helseid;
  }

  private async check(token: string): Promise<Record<string, unknown>> {
    const helseid = this.config.helseid;
    const options = {
      issuer: this.config.issuer,
      audience: this.config.audience,
      currentDate: this.clock.now(),
      clockTolerance: this.config.clockToleranceSeconds ?? 5,
      // a HelseID token of a client (client_credentials) names no person: sub is not required of it
      requiredClaims: helseid ? ['exp'] : ['exp', 'sub'],
    };
    try {
      const header = decodeProtectedHeader(token);
      if (helseid) checkAccessTokenType(header, helseid);
      if (header.alg === 'HS256' && !helseid) {
        if (!this.secret) throw new TokenError('HS256 tokens are not accepted here', 'invalid_token');
        return (await jwtVerify(token, this.secret, { ...options, algorithms: ['HS256'] })).payload;
      }
      if (!this.keys) throw new TokenError(`${header.alg ?? 'Unsigned'} tokens are not accepted here`, 'invalid_token');
      const algorithms = helseid?.tokenAlgorithms ?? ['RS256', 'ES256'];
      const { payload } = await jwtVerify(token, this.keys, { ...options, algorithms });
      if (helseid && Array.isArray(payload.aud) && payload.aud.length > 1)
        this.config.warn?.(
          `HelseID access token with ${payload.aud.length} audiences (NHN: this API should be the only one)`,
        );
      return payload;
    } catch (err) {
      if (err instanceof TokenError) throw err;
      throw new TokenError(describe(err), 'invalid_token');
    }
  }
}

/** What was wrong with a token, in words that help the client and reveal nothing of the keys. */
function describe(err: unknown): string {
  if (err instanceof errors.JWTExpired) return 'The access token has expired';
  if (err instanceof errors.JWTClaimValidationFailed)
    return `The access token's ${err.claim} claim is not valid here (${err.reason})`;
  if (err instanceof errors.JWSSignatureVerificationFailed) return 'The access token signature does not verify';
  if (err instanceof errors.JWKSNoMatchingKey) return 'The access token was signed by an unknown key';
  if (err instanceof errors.JOSEAlgNotAllowed) return 'The access token uses an algorithm not accepted here';
  return 'The access token is not a valid JWT';
}
