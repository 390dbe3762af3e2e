import { beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS } from '../support/backends.js';
import { FHIR_JSON } from '../support/server.js';
import { makeKeys, signToken, useSecureServer, type Keys } from '../security/support.js';
import { installBody, tinyPackage } from './support.js';

let keys: Keys;
beforeAll(async () => {
  keys = await makeKeys();
});

describe.each(BACKENDS)('who may install a package, on $name', (backend) => {
  const t = useSecureServer(backend, () => keys);
  const bearer = async (scope: string, patient?: string) =>
    `Bearer ${await signToken(keys, { scope, ...(patient ? { patient } : {}) }, { now: t.clock.now() })}`;
  const install = async (tgz: string, auth: string) =>
    t
      .http()
      .post('/fhir/$install-package')
      .set('Authorization', auth)
      .set('Content-Type', FHIR_JSON)
      .send(installBody(tgz));

  it('refuses a token without create and update of every type in the package, storing nothing', async () => {
    const pkg = await tinyPackage({ name: 'example.guarded' });
    const reader = await install(pkg.tgz, await bearer('system/*.rs'));
    expect(reader.status).toBe(403);
    expect(reader.body.issue[0].diagnostics).toMatch(/do not allow create on CodeSystem/);
    const partial = await install(pkg.tgz, await bearer('system/CodeSystem.cu system/ValueSet.cu system/*.rs'));
    expect(partial.status).toBe(403);
    expect(partial.body.issue[0].diagnostics).toMatch(/SearchParameter/);
    const patient = await install(pkg.tgz, await bearer('patient/*.cruds', 'anna'));
    expect(patient.status).toBe(403);
    const found = await t
      .http()
      .get('/fhir/CodeSystem')
      .query({ url: pkg.urls.codeSystem })
      .set('Authorization', await bearer('system/*.rs'));
    expect(found.body.total).toBe(0);
  });

  it('installs with a system token that may write every type (system/*.cu)', async () => {
    const pkg = await tinyPackage({ name: 'example.guarded' });
    const res = await install(pkg.tgz, await bearer('system/*.cu'));
    expect(res.status, JSON.stringify(res.body)).toBe(200);
  });
});
