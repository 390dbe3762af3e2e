import { beforeAll, describe, expect, it } from 'vitest';
import { generateKeyPairSync, randomUUID, sign, type KeyPairKeyObjectResult } from 'node:crypto';
import { base64url, SignJWT } from 'jose';
import { BACKENDS } from '../support/backends.js';
import { FHIR_JSON } from '../support/server.js';
import { makeKeys, type Keys } from './support.js';
import type { Storage } from '../../src/storage/types.js';
import {
  ath,
  CLINICIAN,
  makeDpopKey,
  makeProof,
  signHelseIdToken,
  useHelseIdServer,
  type DpopKey,
  type HelseIdTokenOptions,
  type ProofOptions,
} from './helseid-support.js';

let keys: Keys;
let key: DpopKey;
let other: DpopKey;
beforeAll(async () => {
  keys = await makeKeys();
  key = await makeDpopKey();
  other = await makeDpopKey();
});

interface Attempt {
  method?: 'GET' | 'POST';
  path?: string;
  authorization?: string;
  dpop?: string | string[];
}

/** A request as a client makes it: method, path, Authorization and DPoP headers (a POST creates a Patient). */
function send(t: ReturnType<typeof useHelseIdServer>, a: Attempt) {
  const path = a.path ?? '/fhir/Patient';
  let req = a.method === 'POST' ? t.http().post(path).set('Content-Type', FHIR_JSON) : t.http().get(path);
  if (a.authorization) req = req.set('Authorization', a.authorization);
  // an array is sent as that many header lines (superagent types only Cookie so)
  if (a.dpop !== undefined) req = req.set('DPoP', a.dpop as string);
  return a.method === 'POST' ? req.send({ resourceType: 'Patient', name: [{ family: 'Dpop' }] }) : req;
}

/** An unsigned JWS (alg none) with the given header and claims. */
const unsigned = (header: Record<string, unknown>, claims: Record<string, unknown>) =>
  `${base64url.encode(JSON.stringify(header))}.${base64url.encode(JSON.stringify(claims))}.`;

/** DPoP (RFC 9449) at the resource server with HelseID-shaped tokens, on both backends. */
describe.each(BACKENDS)('DPoP required, on $name', (backend) => {
  const t = useHelseIdServer(backend, () => keys, { dpop: 'required' });
  const token = (claims: Record<string, unknown> = {}, o: Partial<HelseIdTokenOptions> = {}) =>
    signHelseIdToken(keys, { ...CLINICIAN, ...claims }, { now: t.clock.now(), jkt: key.jkt, ...o });
  const proof = (o: Partial<ProofOptions> & { token?: string } = {}, by: DpopKey = key) =>
    makeProof(by, { htu: '/fhir/Patient', now: t.clock.now(), ...o });
  /** A valid token and proof for GET /fhir/Patient, changed by `o`. */
  const dpopRequest = async (o: Partial<ProofOptions> = {}, tok?: string): Promise<Attempt> => {
    const at = tok ?? (await token());
    return { authorization: `DPoP ${at}`, dpop: await proof({ token: at, ...o }) };
  };

  it('a DPoP-bound HelseID token with a fresh proof reads and, at level 4, writes', async () => {
    const read = await send(t, await dpopRequest());
    expect(read.status).toBe(200);
    expect(read.headers['dpop-nonce']).toBeUndefined();
    const at = await token();
    const write = await send(t, {
      method: 'POST',
      authorization: `DPoP ${at}`,
      dpop: await proof({ token: at, htm: 'POST' }),
    });
    expect(write.status).toBe(201);
    // the same token with a new proof each time: a token is reused, a proof never
    expect((await send(t, { authorization: `DPoP ${at}`, dpop: await proof({ token: at }) })).status).toBe(200);
  });

  it('HEAD is checked as HEAD: its proof names HEAD, not the GET it is answered as', async () => {
    const at = await token();
    const head = (htm: string) =>
      proof({ token: at, htm }).then((p) =>
        t.http().head('/fhir/Patient').set('Authorization', `DPoP ${at}`).set('DPoP', p),
      );
    expect((await head('HEAD')).status).toBe(200);
    const wrong = await head('GET');
    expect(wrong.status).toBe(401);
    expect(wrong.headers['www-authenticate']).toContain("htm 'GET' is not this request's method HEAD");
  });

  it('no Authorization: 401 with a DPoP challenge naming the algorithms', async () => {
    const res = await send(t, {});
    expect(res.status).toBe(401);
    expect(res.headers['www-authenticate']).toMatch(/^DPoP algs="[^"]*ES256/);
    expect(res.body.issue[0].diagnostics).toContain('Authorization: DPoP');
  });

  /** A proof signed with node:crypto (jose signs with no key unfit for its alg): header alg `alg`, key `pair`. */
  const rawDpopRequest = async (alg: string, pair: KeyPairKeyObjectResult, o: { dsaEncoding?: 'ieee-p1363' } = {}) => {
    const at = await token();
    const iat = Math.floor(t.clock.now().getTime() / 1000);
    const header = { typ: 'dpop+jwt', alg, jwk: pair.publicKey.export({ format: 'jwk' }) };
    const claims = { htm: 'GET', htu: 'http://forlop.test/fhir/Patient', iat, jti: randomUUID(), ath: ath(at) };
    const input = `${base64url.encode(JSON.stringify(header))}.${base64url.encode(JSON.stringify(claims))}`;
    const signature = sign('sha256', Buffer.from(input), { key: pair.privateKey, ...o }).toString('base64url');
    return { authorization: `DPoP ${at}`, dpop: `${input}.${signature}` };
  };

  type Case = [what: string, make: () => Promise<Attempt>, status: number, error: string | undefined, text: string];
  const cases: Case[] = [
    ['proof typ JWT', () => dpopRequest({ typ: 'JWT' }), 401, 'invalid_dpop_proof', "typ must be dpop+jwt, not 'JWT'"],
    [
      'proof alg none',
      async () => {
        const at = await token();
        const claims = { htm: 'GET', htu: 'http://forlop.test/fhir/Patient', iat: t.clock.now().getTime() / 1000 };
        return {
          authorization: `DPoP ${at}`,
          dpop: unsigned({ typ: 'dpop+jwt', alg: 'none', jwk: key.jwk }, { ...claims, jti: 'n-1' }),
        };
      },
      401,
      'invalid_dpop_proof',
      "alg 'none' is not an allowed asymmetric algorithm",
    ],
    [
      'proof HS256 (a shared secret)',
      async () => {
        const secret = new TextEncoder().encode('s'.repeat(32));
        return dpopRequest({ alg: 'HS256', signWith: secret });
      },
      401,
      'invalid_dpop_proof',
      "alg 'HS256' is not an allowed asymmetric algorithm",
    ],
    [
      'proof jwk with the private key',
      () => dpopRequest({ jwk: key.privateJwk }),
      401,
      'invalid_dpop_proof',
      'must be a public key, not a private one',
    ],
    [
      'proof without jwk',
      async () => {
        const at = await token();
        const iat = Math.floor(t.clock.now().getTime() / 1000);
        const claims = { htm: 'GET', htu: 'http://forlop.test/fhir/Patient', iat, jti: 'no-jwk' };
        const jws = await new SignJWT(claims)
          .setProtectedHeader({ typ: 'dpop+jwt', alg: 'ES256' })
          .sign(key.privateKey);
        return { authorization: `DPoP ${at}`, dpop: jws };
      },
      401,
      'invalid_dpop_proof',
      'must carry its public key in the jwk header',
    ],
    [
      'proof signed by another key than its jwk',
      () => dpopRequest({ signWith: other.privateKey }),
      401,
      'invalid_dpop_proof',
      'The DPoP proof signature does not verify',
    ],
    [
      'proof that is not a JWS',
      async () => ({ authorization: `DPoP ${await token()}`, dpop: 'not-a-proof' }),
      401,
      'invalid_dpop_proof',
      'not a JWS in compact serialisation',
    ],
    [
      'proof with a crit header (an extension not understood)',
      async () => {
        const at = await token();
        const iat = Math.floor(t.clock.now().getTime() / 1000);
        const claims = { htm: 'GET', htu: 'http://forlop.test/fhir/Patient', iat, jti: 'crit-1' };
        const jws = await new SignJWT({ ...claims, ath: ath(at) })
          .setProtectedHeader({ typ: 'dpop+jwt', alg: 'ES256', jwk: key.jwk, crit: ['b64'], b64: true })
          .sign(key.privateKey);
        return { authorization: `DPoP ${at}`, dpop: jws };
      },
      401,
      'invalid_dpop_proof',
      'must not have critical header extensions (crit)',
    ],
    [
      'proof alg ES256 with a P-384 key',
      async () => {
        const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' });
        return rawDpopRequest('ES256', p384, { dsaEncoding: 'ieee-p1363' });
      },
      401,
      'invalid_dpop_proof',
      'jwk is not a usable ES256 public key',
    ],
    [
      'proof alg RS256 with a 1024-bit RSA key',
      () => rawDpopRequest('RS256', generateKeyPairSync('rsa', { modulusLength: 1024 })),
      401,
      'invalid_dpop_proof',
      'jwk is not a usable RS256 public key',
    ],
    [
      'proof with an exp already past',
      () => dpopRequest({ claims: { exp: Math.floor(t.clock.now().getTime() / 1000) - 10 } }),
      401,
      'invalid_dpop_proof',
      'The DPoP proof is not a valid signed JWT',
    ],
    ['htm POST on a GET', () => dpopRequest({ htm: 'POST' }), 401, 'invalid_dpop_proof', "htm 'POST' is not"],
    [
      'htu with a query',
      () => dpopRequest({ htu: '/fhir/Patient?name=x' }),
      401,
      'invalid_dpop_proof',
      'must not have a query or a fragment',
    ],
    [
      'htu on another host',
      () => dpopRequest({ htu: 'https://evil.example/fhir/Patient' }),
      401,
      'invalid_dpop_proof',
      "htu 'https://evil.example/fhir/Patient' is not this request's URL",
    ],
    [
      'htu of another path',
      () => dpopRequest({ htu: '/fhir/Observation' }),
      401,
      'invalid_dpop_proof',
      "htu 'http://forlop.test/fhir/Observation' is not",
    ],
    ['iat too old', () => dpopRequest({ iatOffset: -120 }), 401, 'invalid_dpop_proof', 'too old (iat more than 60 s'],
    ['iat in the future', () => dpopRequest({ iatOffset: 60 }), 401, 'invalid_dpop_proof', 'iat is in the future'],
    ['no jti', () => dpopRequest({ jti: null }), 401, 'invalid_dpop_proof', 'must have a jti'],
    [
      'no ath',
      async () => ({ authorization: `DPoP ${await token()}`, dpop: await proof() }),
      401,
      'invalid_dpop_proof',
      'must have ath',
    ],
    [
      'ath of another token',
      async () => ({
        authorization: `DPoP ${await token()}`,
        dpop: await proof({ token: await token({ sub: 'someone-else' }) }),
      }),
      401,
      'invalid_dpop_proof',
      'ath is not the hash of this access token',
    ],
    [
      'a replayed proof (same jti)',
      async () => {
        const first = await dpopRequest({ jti: 'once-only' });
        expect((await send(t, first)).status).toBe(200);
        return first;
      },
      401,
      'invalid_dpop_proof',
      'jti has been used before',
    ],
    [
      'token bound to another key (cnf.jkt)',
      async () => dpopRequest({}, await token({}, { jkt: other.jkt })),
      401,
      'invalid_token',
      'bound to another key than the DPoP proof',
    ],
    [
      'token not DPoP-bound at all',
      async () => dpopRequest({}, await token({}, { jkt: undefined })),
      401,
      'invalid_token',
      'not DPoP-bound (it has no cnf.jkt)',
    ],
    [
      'two DPoP headers',
      async () => {
        const at = await token();
        return { authorization: `DPoP ${at}`, dpop: [await proof({ token: at }), await proof({ token: at })] };
      },
      401,
      'invalid_dpop_proof',
      'exactly one DPoP header',
    ],
    [
      'DPoP scheme without a proof',
      async () => ({ authorization: `DPoP ${await token()}` }),
      401,
      'invalid_dpop_proof',
      'needs a DPoP proof header',
    ],
    [
      'a proof with the Bearer scheme',
      async () => {
        const r = await dpopRequest();
        return { ...r, authorization: r.authorization!.replace(/^DPoP/, 'Bearer') };
      },
      401,
      'invalid_token',
      'A DPoP proof was sent with the Bearer scheme',
    ],
    [
      'a bearer token (DPoP required)',
      async () => ({ authorization: `Bearer ${await token({}, { jkt: undefined })}` }),
      401,
      'invalid_token',
      'accepts only DPoP-bound access tokens',
    ],
    [
      'a Basic header (DPoP required)',
      async () => ({ authorization: 'Basic dXNlcjpwYXNz' }),
      401,
      'invalid_request',
      'The Authorization header must be "DPoP <token>"',
    ],
    [
      'token typ JOSE',
      async () => dpopRequest({}, await token({}, { typ: 'JOSE' })),
      401,
      'invalid_token',
      "typ 'JOSE' is not one HelseID issues",
    ],
    [
      'token without typ',
      async () => dpopRequest({}, await token({}, { typ: null })),
      401,
      'invalid_token',
      "typ '' is not one HelseID issues",
    ],
    [
      'token from another issuer',
      async () => dpopRequest({}, await token({}, { issuer: 'https://helseid-sts.evil.example' })),
      401,
      'invalid_token',
      "access token's iss claim is not valid",
    ],
    [
      'token for another audience',
      async () => dpopRequest({}, await token({}, { audience: 'nhn:another-api' })),
      401,
      'invalid_token',
      "access token's aud claim is not valid",
    ],
    [
      'expired token',
      async () => dpopRequest({}, await token({}, { expiresIn: -60 })),
      401,
      'invalid_token',
      'The access token has expired',
    ],
    [
      'token not valid yet (nbf)',
      async () => dpopRequest({}, await token({}, { notBefore: 600 })),
      401,
      'invalid_token',
      "access token's nbf claim is not valid",
    ],
    [
      'token signed by an unknown key',
      async () => dpopRequest({}, await token({}, { key: keys.stranger.privateKey })),
      401,
      'invalid_token',
      'The access token signature does not verify',
    ],
    [
      'an unknown HelseID scope of this API',
      async () => dpopRequest({}, await token({ scope: 'nhn:forlop/read nhn:forlop/admin' })),
      401,
      'invalid_token',
      "scope 'nhn:forlop/admin' is not one this API knows",
    ],
    [
      'no scope of this API (openid only)',
      async () => dpopRequest({}, await token({ scope: 'openid helseid://scopes/identity/pid' })),
      403,
      undefined,
      "The access token's scopes do not allow search on Patient",
    ],
    [
      'security level 3 on a write',
      async () => {
        const at = await token({ 'helseid://claims/identity/security_level': '3' });
        return { method: 'POST', authorization: `DPoP ${at}`, dpop: await proof({ token: at, htm: 'POST' }) };
      },
      403,
      undefined,
      "Writes need HelseID security level 4; this token's is 3",
    ],
  ];

  it('refuses at least 25 kinds of bad proofs and tokens, each with its own error', () => {
    expect(cases.length).toBeGreaterThanOrEqual(25);
    expect(new Set(cases.map((c) => c[4])).size).toBe(cases.length);
  });

  it.each(cases)('%s: %i %s', async (_what, make, status, error, text) => {
    const res = await send(t, await make());
    expect(res.status).toBe(status);
    expect(res.body.resourceType).toBe('OperationOutcome');
    expect(res.body.issue[0].diagnostics).toContain(text);
    if (error) {
      const challenge = res.headers['www-authenticate'] as string;
      expect(challenge).toMatch(/^DPoP algs="/);
      expect(challenge).toContain(`error="${error}"`);
      expect(challenge).toContain(text.replace(/["\\]/g, ''));
    }
    expect(JSON.stringify(res.body)).not.toMatch(/at .*\.ts|node_modules|-----BEGIN/);
  });
});

describe.each(BACKENDS)('DPoP when the replay cache cannot be written, on $name', (backend) => {
  const gone = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
  const away = { transaction: () => Promise.reject(gone) } as unknown as Storage;
  const t = useHelseIdServer(backend, () => keys, { dpop: 'required', replayStorage: away });

  it('503 with Retry-After, not a 401 that would tell the client its proof is bad', async () => {
    const at = await signHelseIdToken(keys, CLINICIAN, { now: t.clock.now(), jkt: key.jkt });
    const res = await send(t, {
      authorization: `DPoP ${at}`,
      dpop: await makeProof(key, { htu: '/fhir/Patient', now: t.clock.now(), token: at }),
    });
    expect(res.status).toBe(503);
    expect(res.headers['retry-after']).toBeDefined();
    expect(res.body.issue[0].code).toBe('transient');
    expect(res.headers['www-authenticate']).toBeUndefined();
  });
});

describe.each(BACKENDS)('DPoP allowed, with server nonces, on $name', (backend) => {
  const t = useHelseIdServer(backend, () => keys, { dpop: 'allowed', nonceSecret: 'n'.repeat(40) });
  const token = (o: Partial<HelseIdTokenOptions> = {}) =>
    signHelseIdToken(keys, CLINICIAN, { now: t.clock.now(), jkt: key.jkt, ...o });

  it('a proof without the nonce gets use_dpop_nonce and a DPoP-Nonce; with it, 200 and the next nonce', async () => {
    const at = await token();
    const first = await send(t, {
      authorization: `DPoP ${at}`,
      dpop: await makeProof(key, { htu: '/fhir/Patient', now: t.clock.now(), token: at }),
    });
    expect(first.status).toBe(401);
    expect(first.headers['www-authenticate']).toContain('error="use_dpop_nonce"');
    expect(first.body.issue[0].diagnostics).toContain('must carry the server nonce');
    const nonce = first.headers['dpop-nonce'] as string;
    expect(nonce).toMatch(/^[A-Za-z0-9_-]{20,}$/);
    const again = await send(t, {
      authorization: `DPoP ${at}`,
      dpop: await makeProof(key, { htu: '/fhir/Patient', now: t.clock.now(), token: at, nonce }),
    });
    expect(again.status).toBe(200);
    expect(again.headers['dpop-nonce']).toBe(nonce);
  });

  it('a stale or made-up nonce is refused with use_dpop_nonce', async () => {
    const at = await token();
    const res = await send(t, {
      authorization: `DPoP ${at}`,
      dpop: await makeProof(key, { htu: '/fhir/Patient', now: t.clock.now(), token: at, nonce: 'made-up' }),
    });
    expect(res.status).toBe(401);
    expect(res.headers['www-authenticate']).toContain('error="use_dpop_nonce"');
    expect(res.body.issue[0].diagnostics).toContain("nonce is not the server's current one");
  });

  it('a bearer HelseID token is accepted; a DPoP-bound one sent as Bearer is not (RFC 9449 §7.1)', async () => {
    expect((await send(t, { authorization: `Bearer ${await token({ jkt: undefined })}` })).status).toBe(200);
    const bound = await send(t, { authorization: `Bearer ${await token()}` });
    expect(bound.status).toBe(401);
    expect(bound.headers['www-authenticate']).toMatch(/^Bearer realm="forlop", error="invalid_token"/);
    expect(bound.body.issue[0].diagnostics).toContain('is DPoP-bound (cnf.jkt)');
  });

  it('no token: both challenges, Bearer and DPoP', async () => {
    const res = await send(t, {});
    expect(res.status).toBe(401);
    expect(res.headers['www-authenticate']).toMatch(/^Bearer realm="forlop", DPoP algs="/);
  });
});
