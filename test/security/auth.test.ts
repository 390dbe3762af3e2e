import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateSecret, SignJWT, UnsecuredJWT } from 'jose';
import { loadConfig } from '../../src/config.js';
import { TokenVerifier } from '../../src/security/tokens.js';
import { BACKENDS } from '../support/backends.js';
import { BASE, FHIR_JSON } from '../support/server.js';
import { ISSUER, makeKeys, signToken, useSecureServer, type Keys, type TokenOptions } from './support.js';

let keys: Keys;
beforeAll(async () => {
  keys = await makeKeys();
});

/** Authentication: SMART/OAuth 2.0 bearer tokens (JWT) verified with jose against a JWKS, on both backends. */
describe.each(BACKENDS)('bearer tokens, on $name', (backend) => {
  const t = useSecureServer(backend, () => keys);
  const token = (claims: Record<string, unknown> = { scope: 'system/*.cruds' }, o: TokenOptions = {}) =>
    signToken(keys, claims, { now: t.clock.now(), ...o });
  const get = async (path: string, auth?: string) => {
    const req = t.http().get(path);
    return auth === undefined ? req : req.set('Authorization', auth);
  };

  it('RS256 and ES256 tokens from the JWKS are accepted', async () => {
    expect((await get('/fhir/Patient', `Bearer ${await token()}`)).status).toBe(200);
    expect((await get('/fhir/Patient', `Bearer ${await token(undefined, { alg: 'ES256' })}`)).status).toBe(200);
  });

  it('no token: 401 with a Bearer challenge and an OperationOutcome, no data', async () => {
    const res = await get('/fhir/Patient');
    expect(res.status).toBe(401);
    expect(res.headers['www-authenticate']).toBe('Bearer realm="forlop"');
    expect(res.body).toMatchObject({ resourceType: 'OperationOutcome', issue: [{ code: 'login' }] });
  });

  it.each([
    ['a Basic header', () => 'Basic dXNlcjpwYXNz', 'invalid_request'],
    ['garbage', () => 'Bearer not.a.jwt', 'invalid_token'],
    [
      'an unsigned token (alg none)',
      () =>
        `Bearer ${new UnsecuredJWT({ scope: 'system/*.cruds' }).setIssuer(ISSUER).setAudience(BASE).setSubject('x').setExpirationTime('5m').encode()}`,
      'invalid_token',
    ],
    [
      'a key the server does not know',
      async () => `Bearer ${await token(undefined, { key: keys.stranger.privateKey })}`,
      'invalid_token',
    ],
    [
      'another issuer',
      async () => `Bearer ${await token(undefined, { issuer: 'https://evil.example' })}`,
      'invalid_token',
    ],
    [
      'another audience',
      async () => `Bearer ${await token(undefined, { audience: 'https://other.example/fhir' })}`,
      'invalid_token',
    ],
    ['an expired token', async () => `Bearer ${await token(undefined, { expiresIn: -60 })}`, 'invalid_token'],
    [
      'a token not valid yet (nbf)',
      async () => `Bearer ${await token(undefined, { notBefore: 600 })}`,
      'invalid_token',
    ],
    [
      'an HS256 token (no shared secret configured)',
      async () =>
        `Bearer ${await new SignJWT({ scope: 'system/*.cruds' })
          .setProtectedHeader({ alg: 'HS256' })
          .setIssuer(ISSUER)
          .setAudience(BASE)
          .setSubject('x')
          .setExpirationTime('5m')
          .sign(new TextEncoder().encode('x'.repeat(32)))}`,
      'invalid_token',
    ],
  ])('%s: 401 with error=%s', async (_what, header, error) => {
    const res = await get('/fhir/Patient', await header());
    expect(res.status).toBe(401);
    expect(res.headers['www-authenticate']).toContain(`error="${error}"`);
    expect(res.body.issue[0].code).toBe('login');
    expect(JSON.stringify(res.body)).not.toMatch(/at .*\.ts|node_modules|-----BEGIN/);
  });

  it('exp is checked against the injected clock: a token valid now is refused once the clock passes its expiry', async () => {
    const auth = `Bearer ${await token(undefined, { expiresIn: 60 })}`;
    expect((await get('/fhir/Patient', auth)).status).toBe(200);
    const now = t.clock.now();
    t.clock.advance(10 * 60_000);
    const res = await get('/fhir/Patient', auth);
    t.clock.set(now);
    expect(res.status).toBe(401);
    expect(res.body.issue[0].diagnostics).toContain('expired');
  });

  it('the CapabilityStatement and the SMART configuration are public', async () => {
    const metadata = await get('/fhir/metadata');
    expect(metadata.status).toBe(200);
    expect(metadata.body.rest[0].security.service[0].coding[0].code).toBe('SMART-on-FHIR');
    expect(metadata.body.rest[0].security.extension[0].extension[0]).toEqual({
      url: 'token',
      valueUri: `${ISSUER}/token`,
    });
    // the base URL answers a FHIR client the same CapabilityStatement, without a token too
    const base = await get('/fhir');
    expect([base.status, base.body.resourceType]).toEqual([200, 'CapabilityStatement']);
    const audit = metadata.body.rest[0].resource.find((r: { type: string }) => r.type === 'AuditEvent');
    expect(audit.interaction.map((i: { code: string }) => i.code)).not.toContain('delete');
    const smart = await get('/fhir/.well-known/smart-configuration');
    expect(smart.status).toBe(200);
    expect(smart.body).toMatchObject({ issuer: ISSUER, token_endpoint: `${ISSUER}/token` });
    expect(smart.body.capabilities).toEqual(
      expect.arrayContaining(['permission-v2', 'permission-patient', 'client-confidential-asymmetric']),
    );
    expect(smart.body.token_endpoint_auth_signing_alg_values_supported).toEqual(['RS256', 'ES256']);
  });

  it('a write without a token changes nothing', async () => {
    const res = await t
      .http()
      .post('/fhir/Patient')
      .set('Content-Type', FHIR_JSON)
      .send({ resourceType: 'Patient', id: 'sneaky' });
    expect(res.status).toBe(401);
    expect((await get('/fhir/Patient/sneaky', `Bearer ${await token()}`)).status).toBe(404);
  });
});

describe('token verification sources', () => {
  let jwksServer: Server;
  let jwksUrl = '';
  beforeAll(async () => {
    keys ??= await makeKeys();
    jwksServer = createServer((_req, res) => {
      res.setHeader('Content-Type', 'application/json');
      res.end(JSON.stringify(keys.jwks));
    });
    await new Promise<void>((r) => jwksServer.listen(0, '127.0.0.1', () => r()));
    jwksUrl = `http://127.0.0.1:${(jwksServer.address() as AddressInfo).port}/jwks.json`;
  });
  afterAll(() => {
    jwksServer.close();
  });
  const clock = { now: () => new Date() };

  it('a JWKS URL (fetched and cached by jose)', async () => {
    const v = new TokenVerifier({ issuer: ISSUER, audience: BASE, jwks: jwksUrl }, clock);
    expect((await v.verify(await signToken(keys, { scope: 'user/*.rs' }))).scope).toBe('user/*.rs');
    await expect(v.verify(await signToken(keys, {}, { key: keys.stranger.privateKey }))).rejects.toThrow(
      /unknown key|signature/,
    );
  });

  it('HS256 with a development secret, and only then', async () => {
    const secret = 'a-development-secret-of-enough-length';
    const v = new TokenVerifier({ issuer: ISSUER, audience: BASE, hs256Secret: secret }, clock);
    const jwt = await new SignJWT({ scope: 'user/*.rs' })
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuer(ISSUER)
      .setAudience(BASE)
      .setSubject('dev')
      .setExpirationTime('5m')
      .sign(new TextEncoder().encode(secret));
    expect((await v.verify(jwt)).sub).toBe('dev');
    await expect(
      v.verify(
        await new SignJWT({})
          .setProtectedHeader({ alg: 'HS256' })
          .setIssuer(ISSUER)
          .setAudience(BASE)
          .setSubject('x')
          .setExpirationTime('5m')
          .sign(await generateSecret('HS256')),
      ),
    ).rejects.toThrow(/signature/);
    // RS256 is refused when only a secret is configured
    await expect(v.verify(await signToken(keys, {}))).rejects.toThrow(/not accepted/);
  });
});

describe('start-up rules: authentication off only on loopback', () => {
  it('refuses a non-loopback address without authentication, and HS256 off loopback', () => {
    expect(loadConfig({}).auth).toBeUndefined();
    expect(loadConfig({ HOST: '127.0.0.1' }).auth).toBeUndefined();
    expect(() => loadConfig({ HOST: '0.0.0.0' })).toThrow(/Refusing to listen on 0.0.0.0 without authentication/);
    expect(() => loadConfig({ HOST: '10.1.2.3', AUTH_ISSUER: ISSUER, AUTH_HS256_SECRET: 's' })).toThrow(/development/);
    expect(() => loadConfig({ HOST: '0.0.0.0', AUTH_JWKS: '/x.json' })).toThrow(/AUTH_ISSUER/);
    expect(() => loadConfig({ HOST: '0.0.0.0', AUTH_ISSUER: ISSUER })).toThrow(/AUTH_JWKS/);
    expect(() => loadConfig({ AUDIT_READS: 'sometimes' })).toThrow(/AUDIT_READS/);
    expect(loadConfig({}).readAudit).toBe('each');
    const c = loadConfig({ HOST: '0.0.0.0', AUTH_ISSUER: ISSUER, AUTH_JWKS: 'https://auth.example/jwks' });
    expect(c.auth).toMatchObject({
      issuer: ISSUER,
      audience: 'http://localhost:8080/fhir',
      jwks: 'https://auth.example/jwks',
      tokenEndpoint: `${ISSUER}/token`,
    });
  });
});
