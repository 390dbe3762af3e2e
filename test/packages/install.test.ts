import { describe, expect, it } from 'vitest';
import { installPackage } from '../../src/packages/install.js';
import { readPackagePath } from '../../src/packages/read.js';
import { BACKENDS } from '../support/backends.js';
import { FHIR_JSON, useServer, type TestServer } from '../support/server.js';
import { installBody, outputs, tinyPackage, traversalPackage } from './support.js';

type Found = { total: number; entry?: { resource: { id: string; meta: { versionId: string }; status?: string } }[] };

async function byUrl(t: TestServer, type: string, url: string): Promise<Found> {
  const res = await t.http().get(`/fhir/${type}`).query({ url }).set('Accept', FHIR_JSON);
  expect(res.status).toBe(200);
  return res.body as Found;
}

function install(t: TestServer, tgz: string, more: object[] = []) {
  return t.http().post('/fhir/$install-package').set('Content-Type', FHIR_JSON).send(installBody(tgz, more));
}

describe.each(BACKENDS)('installing a package over HTTP on $name', (backend) => {
  const t = useServer(backend);

  it('installs a .tgz: readable by url, the SearchParameter searches after the reindex, profile and ValueSet work', async () => {
    // stored before the package: found by the new parameter only once it is reindexed
    const patient = { resourceType: 'Patient', id: 'bob', name: [{ use: 'nickname', given: ['Bobby'] }] };
    expect((await t.http().put('/fhir/Patient/bob').set('Content-Type', FHIR_JSON).send(patient)).status).toBe(201);
    const pkg = await tinyPackage();
    const res = await install(t, pkg.tgz);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(outputs(res.body, 'created')).toEqual([4]);
    expect(outputs(res.body, 'index')).toEqual(['used']);
    expect(outputs(res.body, 'mode')).toEqual(['install']);
    expect(outputs(res.body, 'activated')).toEqual([pkg.urls.searchParameter]);
    expect(outputs(res.body, 'reindexed-type')).toEqual(['Patient']);
    for (const [type, url] of Object.entries({
      StructureDefinition: pkg.urls.profile,
      SearchParameter: pkg.urls.searchParameter,
      CodeSystem: pkg.urls.codeSystem,
      ValueSet: pkg.urls.valueSet,
    }))
      expect((await byUrl(t, type, url)).total, type).toBe(1);

    const found = await t.http().get('/fhir/Patient').query({ nickname: 'Bobby' }).set('Accept', FHIR_JSON);
    expect(found.status).toBe(200);
    expect(found.body.entry.map((e: { resource: { id: string } }) => e.resource.id)).toEqual(['bob']);

    const validated = await t
      .http()
      .post('/fhir/Patient/$validate')
      .query({ profile: pkg.urls.profile })
      .set('Content-Type', FHIR_JSON)
      .send({ resourceType: 'Patient', name: [{ family: 'Nordmann' }] });
    expect(validated.status).toBe(200);
    const errors = validated.body.issue.filter((i: { severity: string }) => i.severity === 'error');
    expect(errors.map((i: { expression?: string[] }) => i.expression?.[0])).toContain('Patient.birthDate');

    const expanded = await t.http().get('/fhir/ValueSet/$expand').query({ url: pkg.urls.valueSet });
    expect(expanded.status).toBe(200);
    expect(expanded.body.expansion.contains.map((c: { code: string }) => c.code).sort()).toEqual(['green', 'red']);
    for (const [code, result] of [
      ['red', true],
      ['blue', false],
    ] as const) {
      const checked = await t
        .http()
        .get('/fhir/ValueSet/$validate-code')
        .query({ url: pkg.urls.valueSet, system: pkg.urls.codeSystem, code });
      expect(checked.status).toBe(200);
      expect(outputs(checked.body, 'result'), code).toEqual([result]);
    }
  });

  it('installs the same package again without a new version of anything', async () => {
    const pkg = await tinyPackage();
    const res = await install(t, pkg.tgz);
    expect(res.status).toBe(200);
    expect(outputs(res.body, 'created')).toEqual([0]);
    expect(outputs(res.body, 'updated')).toEqual([0]);
    expect(outputs(res.body, 'unchanged')).toEqual([4]);
    expect(outputs(res.body, 'reindexed')).toEqual([0]);
    const sd = (await byUrl(t, 'StructureDefinition', pkg.urls.profile)).entry![0].resource;
    expect(sd.meta.versionId).toBe('1');
    const history = await t.http().get(`/fhir/StructureDefinition/${sd.id}/_history`).set('Accept', FHIR_JSON);
    expect(history.body.total).toBe(1);
  });

  it('lists what is installed', async () => {
    const res = await t.http().get('/fhir/$installed-packages').set('Accept', FHIR_JSON);
    expect(res.status).toBe(200);
    const tiny = res.body.parameter.find((p: { part: { name: string; valueString?: string }[] }) =>
      p.part.some((q) => q.name === 'name' && q.valueString === 'example.tiny'),
    );
    expect(tiny.part).toEqual(
      expect.arrayContaining([
        { name: 'version', valueString: '1.0.0' },
        { name: 'mode', valueCode: 'install' },
        { name: 'resources', valueInteger: 4 },
      ]),
    );
  });

  it('updates to a newer version of the package: its resources stored beside the old versions', async () => {
    const pkg = await tinyPackage({ version: '1.1.0' });
    const res = await install(t, pkg.tgz);
    expect(res.status).toBe(200);
    expect(outputs(res.body, 'created')).toEqual([4]);
    expect(outputs(res.body, 'version')).toEqual(['1.1.0']);
    expect((await byUrl(t, 'StructureDefinition', pkg.urls.profile)).total).toBe(2);
    const listed = await t.http().get('/fhir/$installed-packages').set('Accept', FHIR_JSON);
    const versions = listed.body.parameter.flatMap((p: { part: { name: string; valueString?: string }[] }) =>
      p.part.filter((q) => q.name === 'version').map((q) => q.valueString),
    );
    expect(versions).toEqual(['1.1.0']);
  });

  it('store-only: the resources stored, the SearchParameter stored as draft and not searchable', async () => {
    const pkg = await tinyPackage({ name: 'example.stored', code: 'alias' });
    const res = await install(t, pkg.tgz, [{ name: 'mode', valueCode: 'store-only' }]);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(outputs(res.body, 'mode')).toEqual(['store-only']);
    expect(outputs(res.body, 'activated')).toEqual([]);
    const sp = await byUrl(t, 'SearchParameter', pkg.urls.searchParameter);
    expect(sp.entry![0].resource.status).toBe('draft');
    expect((await byUrl(t, 'StructureDefinition', pkg.urls.profile)).total).toBe(1);
    const search = await t
      .http()
      .get('/fhir/Patient')
      .query({ alias: 'Bobby' })
      .set('Prefer', 'handling=strict')
      .set('Accept', FHIR_JSON);
    expect(search.status).toBe(400);
    expect(search.body.issue[0].diagnostics).toMatch(/Unknown search parameter 'alias'/);
  });

  it('refuses a package whose dependencies are missing: one OperationOutcome naming each, nothing stored', async () => {
    const pkg = await tinyPackage({
      name: 'example.needy',
      code: 'needy',
      dependencies: { 'example.base': '2.0.0', 'example.terms': '1.0.x', 'example.tiny': '1.1.0' },
    });
    const res = await install(t, pkg.tgz);
    expect(res.status).toBe(422);
    expect(res.body.resourceType).toBe('OperationOutcome');
    expect(res.body.issue).toHaveLength(2);
    expect(res.body.issue.map((i: { diagnostics: string }) => i.diagnostics)).toEqual([
      expect.stringMatching(/depends on example\.base#2\.0\.0/),
      expect.stringMatching(/depends on example\.terms#1\.0\.x/),
    ]);
    expect((await byUrl(t, 'StructureDefinition', pkg.urls.profile)).total).toBe(0);
    expect((await byUrl(t, 'SearchParameter', pkg.urls.searchParameter)).total).toBe(0);
  });

  it('refuses a package for another FHIR version', async () => {
    const pkg = await tinyPackage({ name: 'example.r5', code: 'rfive', fhirVersions: ['5.0.0'] });
    const res = await install(t, pkg.tgz);
    expect(res.status).toBe(422);
    expect(res.body.issue[0].diagnostics).toMatch(/is for FHIR 5\.0\.0/);
    expect(res.body.issue[0].expression).toEqual(['package.json.fhirVersions']);
    expect((await byUrl(t, 'CodeSystem', pkg.urls.codeSystem)).total).toBe(0);
  });

  it('refuses a malformed package (a file that is not JSON, an entry outside the package) with nothing stored', async () => {
    const bad = await tinyPackage({
      name: 'example.bad',
      code: 'bad',
      raw: { 'Basic-broken.json': '{"resourceType":' },
    });
    const res = await install(t, bad.tgz);
    expect(res.status).toBe(400);
    expect(res.body.issue[0].diagnostics).toMatch(/package\/Basic-broken\.json is not JSON/);
    expect((await byUrl(t, 'ValueSet', bad.urls.valueSet)).total).toBe(0);

    const evil = await install(t, await traversalPackage());
    expect(evil.status).toBe(400);
    expect(evil.body.issue[0].diagnostics).toMatch(/points outside the package/);
    expect((await t.http().get('/fhir/Basic/evil').set('Accept', FHIR_JSON)).status).toBe(404);

    const notTar = await t
      .http()
      .post('/fhir/$install-package')
      .set('Content-Type', FHIR_JSON)
      .send({ resourceType: 'Parameters', parameter: [{ name: 'package', valueAttachment: { data: 'aGVsbG8=' } }] });
    expect(notTar.status).toBe(400);
  });

  it('refuses the whole package when one resource is invalid, storing none of it', async () => {
    const pkg = await tinyPackage({
      name: 'example.invalid',
      code: 'invalid',
      // no index: it would name the four good files only, and the wrong one would not be read
      index: 'none',
      raw: { 'Zz-Patient-wrong.json': JSON.stringify({ resourceType: 'Patient', id: 'wrong', birthDate: 'soon' }) },
    });
    const res = await install(t, pkg.tgz);
    expect(res.status).toBe(422);
    expect(res.body.issue[0].diagnostics).toMatch(/^Zz-Patient-wrong\.json: /);
    expect((await byUrl(t, 'CodeSystem', pkg.urls.codeSystem)).total).toBe(0);
    expect((await byUrl(t, 'SearchParameter', pkg.urls.searchParameter)).total).toBe(0);
    // nor searchable in this process: SearchParameters are written last, after the refused file
    const search = await t.http().get('/fhir/Patient').query({ invalid: 'x' }).set('Prefer', 'handling=strict');
    expect(search.status).toBe(400);
  });

  it('installs a folder, with its .index.json used, or built when it is missing or wrong; examples when asked', async () => {
    const withIndex = await tinyPackage({ name: 'example.folder', code: 'folder' });
    const used = await installPackage(t.services, await readPackagePath(withIndex.dir), 'install');
    expect([used.index, used.created]).toEqual(['used', 4]);

    const example = { resourceType: 'Patient', id: 'example-kari', birthDate: '1990-01-01' };
    const noIndex = await tinyPackage({ name: 'example.noindex', code: 'noindex', index: 'none', examples: [example] });
    const built = await installPackage(t.services, await readPackagePath(noIndex.dir), 'install');
    expect([built.index, built.created]).toEqual(['built', 4]);
    expect((await t.http().get('/fhir/Patient/example-kari')).status).toBe(404);
    const withExamples = await installPackage(
      t.services,
      await readPackagePath(noIndex.dir, { examples: true }),
      'install',
    );
    expect([withExamples.created, withExamples.unchanged]).toEqual([1, 4]);
    expect((await t.http().get('/fhir/Patient/example-kari')).status).toBe(200);

    const wrong = await tinyPackage({ name: 'example.wrongindex', code: 'wrongindex', index: 'wrong' });
    const rebuilt = await installPackage(t.services, await readPackagePath(wrong.tgz), 'install');
    expect([rebuilt.index, rebuilt.created]).toEqual(['built', 4]);
  });
});
