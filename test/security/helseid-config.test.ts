import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';

const AUTH = { AUTH_ISSUER: 'https://helseid-sts.test.nhn.no', AUTH_JWKS: '/dev/null', AUTH_AUDIENCE: 'nhn:forlop' };

/** AUTH_PROFILE, HELSEID_SCOPE_MAP, WRITE_SECURITY_LEVEL, DPOP and its settings as configuration reads them. */
describe('HelseID and DPoP settings', () => {
  it('defaults: SMART tokens, DPoP off, a 60 s window, no nonces', () => {
    const auth = loadConfig(AUTH).auth!;
    expect(auth.helseid).toBeUndefined();
    expect(auth.dpop).toMatchObject({ mode: 'off', iatWindowSeconds: 60, iatFutureSeconds: 5, nonceSecret: undefined });
    expect(auth.dpop.algorithms).toEqual(expect.arrayContaining(['ES256', 'RS256', 'PS256']));
    expect(auth.dpop.algorithms).not.toContain('HS256');
  });

  it('AUTH_PROFILE=helseid: the shipped profile, writes at level 4 unless told', () => {
    const auth = loadConfig({ ...AUTH, AUTH_PROFILE: 'helseid', DPOP: 'required' }).auth!;
    expect(auth.helseid).toMatchObject({
      writeSecurityLevel: 4,
      accessTokenTypes: expect.arrayContaining(['at+jwt', 'JWT']),
      scopeMap: { 'nhn:forlop/read': ['user/*.rs'], 'nhn:forlop/write': ['user/*.cruds'] },
    });
    expect(auth.helseid?.claims.hprNumber).toBe('helseid://claims/hpr/hpr_number');
    expect(auth.dpop.mode).toBe('required');
    const level3 = loadConfig({ ...AUTH, AUTH_PROFILE: 'helseid', WRITE_SECURITY_LEVEL: '3' }).auth!;
    expect(level3.helseid?.writeSecurityLevel).toBe(3);
  });

  it('HELSEID_SCOPE_MAP as JSON or as a file, a single scope or a list', () => {
    const json = '{"nhn:forlop/les": "user/*.rs", "nhn:forlop/skriv": ["user/*.cruds", "system/*.rs"]}';
    const inline = loadConfig({ ...AUTH, AUTH_PROFILE: 'helseid', HELSEID_SCOPE_MAP: json }).auth!;
    expect(inline.helseid?.scopeMap).toEqual({
      'nhn:forlop/les': ['user/*.rs'],
      'nhn:forlop/skriv': ['user/*.cruds', 'system/*.rs'],
    });
    const file = join(mkdtempSync(join(tmpdir(), 'forlop-scopes-')), 'scopes.json');
    writeFileSync(file, json);
    const fromFile = loadConfig({ ...AUTH, AUTH_PROFILE: 'helseid', HELSEID_SCOPE_MAP: file }).auth!;
    expect(fromFile.helseid?.scopeMap).toEqual(inline.helseid?.scopeMap);
  });

  it.each([
    [{ AUTH_PROFILE: 'oidc' }, "AUTH_PROFILE must be smart or helseid, not 'oidc'"],
    [{ DPOP: 'maybe' }, "DPOP must be off, allowed or required, not 'maybe'"],
    [{ WRITE_SECURITY_LEVEL: '5' }, "WRITE_SECURITY_LEVEL must be a whole number 0–4, not '5'"],
    [{ DPOP_IAT_WINDOW_SECONDS: '0' }, "DPOP_IAT_WINDOW_SECONDS must be a whole number 1–3600, not '0'"],
    [{ DPOP_NONCE_SECRET: 'short' }, 'DPOP_NONCE_SECRET must be at least 32 characters'],
    [
      { HELSEID_SCOPE_MAP: '{"a": 1}' },
      "HELSEID_SCOPE_MAP must be a JSON object (or a file with one) of HelseID scope → SMART scopes; 'a' is not",
    ],
    [{ HELSEID_SCOPE_MAP: '{not json' }, 'it is not JSON'],
    [{ HELSEID_SCOPE_MAP: '/no/such/file.json' }, "'/no/such/file.json' is neither"],
    [{ AUTH_PROFILE: 'helseid', AUTH_ISSUER: '' }, 'AUTH_ISSUER is required'],
  ])('%j is refused at start: %s', (env, message) => {
    expect(() => loadConfig({ ...AUTH, ...env })).toThrow(message);
  });
});
