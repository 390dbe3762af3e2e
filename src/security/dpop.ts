import { createHash } from 'node:crypto';
import type { JWK } from 'jose';
import type { Clock } from '../fhir/clock.js';
import type { DpopNonces } from './dpop-nonce.js';
import type { ReplayCache } from './dpop-replay.js';
import { parseProof, signatureVerifies, type ProofJws } from './proof-jws.js';
import { ProofKeys } from './proof-keys.js';
import { TokenError } from './tokens-error.js';

export type DpopMode = 'off' | 'allowed' | 'required';

export interface DpopSettings {
  /** off: only Bearer; allowed: Bearer or DPoP; required: DPoP only (DPOP). */
  mode: DpopMode;
  /** The asymmetric `alg` values a proof may use (config/helseid.json: proofAlgorithms). */
  algorithms: string[];
  /** How old a proof's `iat` may be, in seconds (DPOP_IAT_WINDOW_SECONDS). */
  iatWindowSeconds: number;
  /** How far ahead of the server's clock `iat` may be (clock skew), in seconds. */
  iatFutureSeconds: number;
}

/** What a verified proof says: the thumbprint of its key (to compare with the token's `cnf.jkt`). */
export interface VerifiedProof {
  jkt: string;
}

/** JWK members that only a private (or symmetric) key has: a proof carrying any is refused (RFC 9449 §4.3 step 7). */
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'];

type JWTPayload = Record<string, unknown>;

const refuse = (message: string): never => {
  throw new TokenError(message, 'invalid_dpop_proof');
};

/**
 * Checks a DPoP proof at the resource server, step by step as RFC 9449 §4.3 lists them (and §7.1 for
 * `ath`): a JWS with `typ` dpop+jwt, an allowed asymmetric `alg`, a public `jwk` that verifies its
 * signature, `htm` and `htu` of this request, `iat` within the window, the server nonce when one is
 * used, `ath` the hash of this access token, and a `jti` no node has seen. The URL compared with `htu`
 * is the configured public base URL's origin and the request's path — never the client's Host header.
 */
export class DpopVerifier {
  /** Imported keys and their thumbprints: a client signs many proofs with one key. */
  private readonly keys = new ProofKeys();
  /** The `ath` each access token must have: a client sends one token with many proofs. */
  private readonly athOf = new Map<string, string>();

  constructor(
    readonly settings: DpopSettings,
    private readonly publicOrigin: string,
    private readonly replay: ReplayCache,
    private readonly clock: Clock,
    readonly nonces?: DpopNonces,
  ) {}

  async verify(proof: string, method: string, path: string, accessToken: string): Promise<VerifiedProof> {
    const jws = parseProof(proof);
    const { alg, jwk } = this.checkHeader(jws.header);
    const { key, jkt } = await this.keys.of(jwk, alg);
    if (!signatureVerifies(jws, alg, key)) refuse('The DPoP proof signature does not verify');
    const payload = this.checkClaims(jws);
    const jti = this.checkRequest(payload, method, path);
    const iat = this.checkTime(payload);
    if (this.nonces && !this.nonces.accepts(payload.nonce))
      throw new TokenError(
        payload.nonce === undefined
          ? 'The DPoP proof must carry the server nonce (DPoP-Nonce)'
          : "The DPoP proof's nonce is not the server's current one",
        'use_dpop_nonce',
      );
    this.checkAth(payload, accessToken);
    // last, so a proof refused for another reason does not use up its jti
    const expires = iat + this.settings.iatWindowSeconds + this.settings.iatFutureSeconds;
    if (!(await this.replay.firstUse(jkt, jti, expires)))
      refuse("The DPoP proof's jti has been used before (a replayed proof)");
    return { jkt };
  }

  /** §4.3 steps 2–7: one well-formed JWS, `typ` dpop+jwt, an allowed asymmetric `alg`, a public `jwk`. */
  private checkHeader(header: Record<string, unknown>): { alg: string; jwk: JWK } {
    if (header.typ !== 'dpop+jwt') refuse(`The DPoP proof's typ must be dpop+jwt, not '${String(header.typ ?? '')}'`);
    const alg = String(header.alg ?? '');
    if (!this.settings.algorithms.includes(alg))
      refuse(`The DPoP proof's alg '${alg}' is not an allowed asymmetric algorithm`);
    const jwk = header.jwk;
    if (!jwk || typeof jwk !== 'object' || Array.isArray(jwk))
      return refuse('The DPoP proof must carry its public key in the jwk header');
    if (PRIVATE_MEMBERS.some((m) => m in jwk)) refuse("The DPoP proof's jwk must be a public key, not a private one");
    return { alg, jwk: jwk as JWK };
  }

  /** RFC 7519 §4.1.4–4.1.5: an `exp` or `nbf` a proof carries (none needs one) holds as in any JWT. */
  private checkClaims(jws: ProofJws): JWTPayload {
    const { exp, nbf } = jws.payload;
    const now = this.clock.now().getTime() / 1000;
    if (exp !== undefined && (typeof exp !== 'number' || exp <= now))
      refuse('The DPoP proof is not a valid signed JWT');
    if (nbf !== undefined && (typeof nbf !== 'number' || nbf > now)) refuse('The DPoP proof is not a valid signed JWT');
    return jws.payload;
  }

  /** RFC 9449 §4.3 step 12 / §7.1: `ath` is the base64url SHA-256 of the access token sent with the proof. */
  private checkAth(payload: JWTPayload, accessToken: string): void {
    if (typeof payload.ath !== 'string') refuse('The DPoP proof must have ath (the hash of the access token)');
    let ath = this.athOf.get(accessToken);
    if (ath === undefined) {
      ath = createHash('sha256').update(accessToken).digest('base64url');
      if (this.athOf.size >= 1_000) this.athOf.delete(this.athOf.keys().next().value as string);
      this.athOf.set(accessToken, ath);
    }
    if (payload.ath !== ath) refuse("The DPoP proof's ath is not the hash of this access token");
  }

  /** §4.3 steps 8–9: a `jti`, `htm` the request's method, `htu` its URL without query and fragment. */
  private checkRequest(payload: JWTPayload, method: string, path: string): string {
    const { jti, htm, htu } = payload;
    if (typeof jti !== 'string' || !jti || jti.length > 256)
      refuse('The DPoP proof must have a jti (at most 256 characters)');
    if (htm !== method) refuse(`The DPoP proof's htm '${String(htm ?? '')}' is not this request's method ${method}`);
    if (typeof htu !== 'string' || !URL.canParse(htu)) refuse("The DPoP proof's htu must be an absolute URL");
    // RFC 6455 §3: a ws/wss URI names what its opening handshake, an http/https GET, asks for (websocket.ts)
    const url = new URL(method === 'GET' ? (htu as string).replace(/^ws(s?):/i, 'http$1:') : (htu as string));
    // RFC 9449 §4.2: htu is the target URI *without* query and fragment
    if (url.search || url.hash || /[?#]/.test(htu as string))
      refuse("The DPoP proof's htu must not have a query or a fragment");
    const expected = new URL(this.publicOrigin + path.split('?')[0]);
    if (url.origin !== expected.origin || url.pathname !== expected.pathname)
      refuse(`The DPoP proof's htu '${url.origin}${url.pathname}' is not this request's URL ${expected.href}`);
    return jti as string;
  }

  /** §4.3 step 11: `iat` within the window — not older than it, not ahead of the clock by more than the skew. */
  private checkTime(payload: JWTPayload): number {
    const iat = payload.iat;
    if (typeof iat !== 'number') return refuse('The DPoP proof must have an iat');
    const now = this.clock.now().getTime() / 1000;
    if (now - iat > this.settings.iatWindowSeconds)
      refuse(`The DPoP proof is too old (iat more than ${this.settings.iatWindowSeconds} s ago)`);
    if (iat - now > this.settings.iatFutureSeconds) refuse("The DPoP proof's iat is in the future");
    return iat;
  }
}

/** The thumbprint a DPoP-bound access token names (`cnf.jkt`, RFC 9449 §6.1), if any. */
export function boundJkt(claims: Record<string, unknown>): string | undefined {
  const cnf = claims.cnf;
  const jkt = cnf && typeof cnf === 'object' ? (cnf as Record<string, unknown>).jkt : undefined;
  return typeof jkt === 'string' ? jkt : undefined;
}
