import { randomUUID, createHash } from 'node:crypto';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import type { Backend } from '../support/backends.js';
import { BASE, useServer, type TestServer } from '../support/server.js';
import { TokenVerifier } from '../../src/security/tokens.js';
import { DpopVerifier, type DpopMode } from '../../src/security/dpop.js';
import { DpopNonces } from '../../src/security/dpop-nonce.js';
import { ReplayCache } from '../../src/security/dpop-replay.js';
import { loadHelseIdProfile } from '../../src/security/helseid.js';
import type { Keys } from './support.js';
import type { Storage } from '../../src/storage/types.js';

/**
 * A local HelseID-shaped authority for the tests (no network): access tokens with HelseID's `typ`,
 * claims and scopes, signed by the test keys, and DPoP proofs signed by a client's own key pair.
 */
export const HELSEID_ISSUER = 'https://helseid-sts.forlop.test';
export const HELSEID_AUDIENCE = 'nhn:forlop';
export const ORIGIN = new URL(BASE).origin;

export const CLAIM = {
  pid: 'helseid://claims/identity/pid',
  hpr: 'helseid://claims/hpr/hpr_number',
  level: 'helseid://claims/identity/security_level',
  parent: 'helseid://claims/client/claims/orgnr_parent',
  child: 'helseid://claims/client/claims/orgnr_child',
  clientName: 'helseid://claims/client/client_name',
};

/** A clinician signed in at level 4, at a point of care of a health trust. */
export const CLINICIAN = {
  [CLAIM.pid]: '13116900216',
  [CLAIM.hpr]: '565505933',
  [CLAIM.level]: '4',
  [CLAIM.parent]: '983974899',
  [CLAIM.child]: '974705788',
  [CLAIM.clientName]: 'Forløp EPJ-test',
  scope: ['openid', 'helseid://scopes/identity/pid', 'nhn:forlop/write'],
  client_id: 'helseid-client-1',
  sub: 'pseudonym-abc',
};

export interface HelseIdTokenOptions {
  typ?: string | null;
  alg?: 'RS256' | 'ES256';
  key?: CryptoKey;
  issuer?: string;
  audience?: string | string[];
  expiresIn?: number;
  notBefore?: number;
  now: Date;
  /** The DPoP key's thumbprint the token is bound to (`cnf.jkt`). */
  jkt?: string;
}

export async function signHelseIdToken(
  keys: Keys,
  claims: Record<string, unknown>,
  o: HelseIdTokenOptions,
): Promise<string> {
  const alg = o.alg ?? 'RS256';
  const now = Math.floor(o.now.getTime() / 1000);
  const header = { alg, kid: alg === 'RS256' ? 'rs-1' : 'es-1', ...(o.typ === null ? {} : { typ: o.typ ?? 'at+jwt' }) };
  const jwt = new SignJWT({ ...claims, ...(o.jkt ? { cnf: { jkt: o.jkt } } : {}) })
    .setProtectedHeader(header)
    .setIssuer(o.issuer ?? HELSEID_ISSUER)
    .setAudience(o.audience ?? HELSEID_AUDIENCE)
    .setIssuedAt(now)
    .setExpirationTime(now + (o.expiresIn ?? 300));
  if (o.notBefore !== undefined) jwt.setNotBefore(now + o.notBefore);
  return jwt.sign(o.key ?? (alg === 'RS256' ? keys.rs256.privateKey : keys.es256.privateKey));
}

/** A client's DPoP key pair (ES256) and its thumbprint. */
export interface DpopKey {
  privateKey: CryptoKey;
  jwk: JWK;
  privateJwk: JWK;
  jkt: string;
}

export async function makeDpopKey(alg: 'ES256' | 'RS256' = 'ES256'): Promise<DpopKey> {
  const pair = await generateKeyPair(alg, { extractable: true });
  const jwk = await exportJWK(pair.publicKey);
  return {
    privateKey: pair.privateKey,
    jwk,
    privateJwk: await exportJWK(pair.privateKey),
    jkt: await calculateJwkThumbprint(jwk, 'sha256'),
  };
}

export const ath = (token: string) => createHash('sha256').update(token).digest('base64url');

export interface ProofOptions {
  htm?: string;
  /** The path on the test base URL, or a whole URL. */
  htu: string;
  token?: string;
  now: Date;
  /** Seconds added to now for iat. */
  iatOffset?: number;
  jti?: string | null;
  nonce?: string;
  typ?: string;
  jwk?: JWK;
  alg?: string;
  /** Claims to set or (undefined) remove. */
  claims?: Record<string, unknown>;
  signWith?: CryptoKey | Uint8Array;
}

/** A DPoP proof (RFC 9449 §4.2) for one request, signed by `key` unless told otherwise. */
export async function makeProof(key: DpopKey, o: ProofOptions): Promise<string> {
  const payload: Record<string, unknown> = {
    htm: o.htm ?? 'GET',
    htu: /^[a-z]+:\/\//i.test(o.htu) ? o.htu : `${ORIGIN}${o.htu}`,
    iat: Math.floor(o.now.getTime() / 1000) + (o.iatOffset ?? 0),
    ...(o.jti === null ? {} : { jti: o.jti ?? randomUUID() }),
    ...(o.token ? { ath: ath(o.token) } : {}),
    ...(o.nonce ? { nonce: o.nonce } : {}),
    ...o.claims,
  };
  for (const [k, v] of Object.entries(payload)) if (v === undefined) delete payload[k];
  return new SignJWT(payload)
    .setProtectedHeader({ typ: o.typ ?? 'dpop+jwt', alg: o.alg ?? 'ES256', jwk: o.jwk ?? key.jwk })
    .sign(o.signWith ?? key.privateKey);
}

export interface HelseIdServerOptions {
  dpop?: DpopMode;
  nonceSecret?: string;
  writeSecurityLevel?: number;
  iatWindowSeconds?: number;
  audit?: boolean;
  /** The replay cache's database, when not the server's own (a database that has gone away). */
  replayStorage?: Storage;
}

/** A HelseID test server and its verifiers (for a listener's websocket, which checks tokens as REST does). */
export type HelseIdTestServer = TestServer & { tokens: TokenVerifier; dpop?: DpopVerifier };

/** A test server taking HelseID tokens from `keys` (and DPoP proofs), checked against the test clock. */
export function useHelseIdServer(backend: Backend, keys: () => Keys, o: HelseIdServerOptions = {}): HelseIdTestServer {
  const holder: { t?: TestServer } = {};
  const clock = { now: () => holder.t!.clock.now() };
  const helseid = { ...loadHelseIdProfile(), writeSecurityLevel: o.writeSecurityLevel ?? 4 };
  const settings = {
    mode: o.dpop ?? 'allowed',
    algorithms: helseid.proofAlgorithms,
    iatWindowSeconds: o.iatWindowSeconds ?? 60,
    iatFutureSeconds: 5,
  };
  const nonces = o.nonceSecret ? new DpopNonces(o.nonceSecret, clock) : undefined;
  let verifier: TokenVerifier | undefined;
  const tokens = {
    helseid,
    verify: (token: string) => {
      const config = { issuer: HELSEID_ISSUER, audience: HELSEID_AUDIENCE, jwks: keys().jwksFile, helseid };
      verifier ??= new TokenVerifier(config, clock);
      return verifier.verify(token);
    },
  } as unknown as TokenVerifier;
  let proofs: DpopVerifier | undefined;
  const dpop = {
    settings,
    nonces,
    verify: (...a: Parameters<DpopVerifier['verify']>) => {
      const storage = o.replayStorage ?? holder.t!.storage;
      proofs ??= new DpopVerifier(settings, ORIGIN, new ReplayCache(storage, clock), clock, nonces);
      return proofs.verify(...a);
    },
  } as unknown as DpopVerifier;
  const dpopInfo =
    settings.mode === 'off' ? undefined : { required: settings.mode === 'required', algorithms: settings.algorithms };
  const smart = {
    issuer: HELSEID_ISSUER,
    tokenEndpoint: `${HELSEID_ISSUER}/connect/token`,
    helseIdScopes: Object.keys(helseid.scopeMap),
    dpop: dpopInfo,
  };
  const t = useServer(backend, {
    security: { tokens, smart, dpop: settings.mode === 'off' ? undefined : dpop },
    audit: o.audit ?? false,
  });
  holder.t = t;
  return Object.assign(t, { tokens, dpop: settings.mode === 'off' ? undefined : dpop });
}
