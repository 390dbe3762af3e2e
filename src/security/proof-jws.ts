import { constants, verify, type KeyObject } from 'node:crypto';
import { TokenError } from './tokens-error.js';

/** A DPoP proof split once: its protected header and claims as parsed JSON, and what its signature covers. */
export interface ProofJws {
  header: Record<string, unknown>;
  payload: Record<string, unknown>;
  signingInput: Buffer;
  signature: Buffer;
}

const refuse = (message: string): never => {
  throw new TokenError(message, 'invalid_dpop_proof');
};

const BASE64URL = /^[A-Za-z0-9_-]+$/;
/** An unsecured JWS (`alg: none`) has an empty signature: parsed, so that its `alg` is what refuses it. */
const SIGNATURE = /^[A-Za-z0-9_-]*$/;

function jsonObject(segment: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'));
    return value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * A JWS in compact serialisation (RFC 7515 §7.1), parsed once: three base64url parts, a JSON object
 * header and a JSON object payload (RFC 7519 §7.2 step 10). A `crit` header is refused: no extension
 * is understood here (RFC 7515 §4.1.11), so `b64: false` and the like never change what is verified.
 */
export function parseProof(proof: string): ProofJws {
  const parts = proof.split('.');
  if (parts.length !== 3 || !BASE64URL.test(parts[0]) || !BASE64URL.test(parts[1]) || !SIGNATURE.test(parts[2]))
    return refuse('The DPoP proof is not a JWS in compact serialisation');
  const header = jsonObject(parts[0]);
  if (!header) return refuse('The DPoP proof is not a JWS in compact serialisation');
  if ('crit' in header) refuse('The DPoP proof must not have critical header extensions (crit)');
  const payload = jsonObject(parts[1]);
  if (!payload) return refuse('The DPoP proof is not a valid signed JWT');
  return {
    header,
    payload,
    signingInput: Buffer.from(`${parts[0]}.${parts[1]}`, 'ascii'),
    signature: Buffer.from(parts[2], 'base64url'),
  };
}

/** How each allowed `alg` (RFC 7518 §3.1) is checked with node:crypto: its hash, key type and padding. */
interface AlgSpec {
  hash: 'sha256' | 'sha384' | 'sha512';
  kty: 'RSA' | 'EC';
  /** EC: the curve the JWK must name, and the signature's length (R ‖ S, RFC 7518 §3.4). */
  crv?: string;
  signatureBytes?: number;
  /** PS*: RSASSA-PSS with a salt as long as the hash (RFC 7518 §3.5). */
  pss?: boolean;
}

const ALGS: Record<string, AlgSpec> = {
  RS256: { hash: 'sha256', kty: 'RSA' },
  RS384: { hash: 'sha384', kty: 'RSA' },
  RS512: { hash: 'sha512', kty: 'RSA' },
  PS256: { hash: 'sha256', kty: 'RSA', pss: true },
  PS384: { hash: 'sha384', kty: 'RSA', pss: true },
  PS512: { hash: 'sha512', kty: 'RSA', pss: true },
  ES256: { hash: 'sha256', kty: 'EC', crv: 'P-256', signatureBytes: 64 },
  ES384: { hash: 'sha384', kty: 'EC', crv: 'P-384', signatureBytes: 96 },
  ES512: { hash: 'sha512', kty: 'EC', crv: 'P-521', signatureBytes: 132 },
};

const HASH_BYTES = { sha256: 32, sha384: 48, sha512: 64 };

/** Whether a public key (a JWK already imported) is of the kind `alg` needs: its type, curve, RSA size. */
export function keyFits(alg: string, jwk: Record<string, unknown>, key: KeyObject): boolean {
  const spec = ALGS[alg];
  if (!spec || key.type !== 'public' || jwk.kty !== spec.kty) return false;
  if (spec.crv) return jwk.crv === spec.crv;
  // RFC 7518 §3.3: a key of 2048 bits or larger is to be used with RS*/PS*
  return (key.asymmetricKeyDetails?.modulusLength ?? 0) >= 2048;
}

/**
 * The signature check of RFC 9449 §4.3 step 6, with node:crypto on this thread: one synchronous
 * verification, no WebCrypto job on the thread pool and no generic JOSE layer per proof.
 */
export function signatureVerifies(jws: ProofJws, alg: string, key: KeyObject): boolean {
  const spec = ALGS[alg];
  if (!spec) return false;
  if (spec.signatureBytes !== undefined) {
    if (jws.signature.length !== spec.signatureBytes) return false;
    return verify(spec.hash, jws.signingInput, { key, dsaEncoding: 'ieee-p1363' }, jws.signature);
  }
  const padding = spec.pss
    ? { padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: HASH_BYTES[spec.hash] }
    : { padding: constants.RSA_PKCS1_PADDING };
  return verify(spec.hash, jws.signingInput, { key, ...padding }, jws.signature);
}
