import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import type { Backend } from '../support/backends.js';
import { BASE, useServer, type TestServer } from '../support/server.js';
import { TokenVerifier, type TokenConfig } from '../../src/security/tokens.js';

export const ISSUER = 'https://auth.forlop.test';

export interface Keys {
  rs256: { privateKey: CryptoKey; jwk: JWK };
  es256: { privateKey: CryptoKey; jwk: JWK };
  /** A key pair the server does not know. */
  stranger: { privateKey: CryptoKey };
  /** A JWKS file with the two known public keys. */
  jwksFile: string;
  jwks: { keys: JWK[] };
}

/** Real key pairs, made for the test run: RS256 and ES256, published as a JWKS file. */
export async function makeKeys(): Promise<Keys> {
  const rs = await generateKeyPair('RS256', { extractable: true });
  const es = await generateKeyPair('ES256', { extractable: true });
  const stranger = await generateKeyPair('RS256');
  const rsJwk = { ...(await exportJWK(rs.publicKey)), kid: 'rs-1', alg: 'RS256', use: 'sig' };
  const esJwk = { ...(await exportJWK(es.publicKey)), kid: 'es-1', alg: 'ES256', use: 'sig' };
  const jwks = { keys: [rsJwk, esJwk] };
  const jwksFile = join(mkdtempSync(join(tmpdir(), 'forlop-jwks-')), 'jwks.json');
  writeFileSync(jwksFile, JSON.stringify(jwks));
  return {
    rs256: { privateKey: rs.privateKey, jwk: rsJwk },
    es256: { privateKey: es.privateKey, jwk: esJwk },
    stranger,
    jwksFile,
    jwks,
  };
}

export interface TokenOptions {
  alg?: 'RS256' | 'ES256';
  key?: CryptoKey;
  kid?: string;
  issuer?: string;
  audience?: string;
  /** Seconds from the test clock's now. */
  expiresIn?: number;
  notBefore?: number;
  /** The moment the token is issued (the test clock by default). */
  now?: Date;
}

/** A signed access token with these claims (scope, patient, client_id …). */
export async function signToken(keys: Keys, claims: Record<string, unknown>, o: TokenOptions = {}): Promise<string> {
  const alg = o.alg ?? 'RS256';
  const key = o.key ?? (alg === 'RS256' ? keys.rs256.privateKey : keys.es256.privateKey);
  const now = Math.floor((o.now ?? new Date()).getTime() / 1000);
  const jwt = new SignJWT({ client_id: 'test-client', ...claims })
    .setProtectedHeader({ alg, kid: o.kid ?? (alg === 'RS256' ? 'rs-1' : 'es-1') })
    .setIssuer(o.issuer ?? ISSUER)
    .setAudience(o.audience ?? BASE)
    .setSubject(String(claims.sub ?? 'test-user'))
    .setIssuedAt(now)
    .setExpirationTime(now + (o.expiresIn ?? 300));
  if (o.notBefore !== undefined) jwt.setNotBefore(now + o.notBefore);
  return jwt.sign(key);
}

/** A test server that requires tokens signed by `keys` (JWKS from a file), checked against the test clock. */
export function useSecureServer(
  backend: Backend,
  keys: () => Keys,
  config: Partial<TokenConfig> = {},
  more: Record<string, unknown> = {},
): TestServer {
  const holder: { t?: TestServer } = {};
  const clock = { now: () => holder.t!.clock.now() };
  let verifier: TokenVerifier | undefined;
  const tokens = {
    verify: (token: string) => {
      verifier ??= new TokenVerifier({ issuer: ISSUER, audience: BASE, jwks: keys().jwksFile, ...config }, clock);
      return verifier.verify(token);
    },
  } as unknown as TokenVerifier;
  const t = useServer(backend, {
    security: { tokens, smart: { issuer: ISSUER, tokenEndpoint: `${ISSUER}/token` } },
    ...more,
  });
  holder.t = t;
  return t;
}
