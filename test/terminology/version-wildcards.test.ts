import { describe, expect, it } from 'vitest';
import { BACKENDS } from '../support/backends.js';
import { FHIR_JSON, useServer } from '../support/server.js';
import { CONDITIONS, expectResult, param, TEST_CS } from './support.js';

const V1 = { ...CONDITIONS, id: undefined, version: '1.0.0' };
const V12 = { ...CONDITIONS, id: undefined, version: '1.2.0', concept: [{ code: 'ocd', display: 'OCD (1.2)' }] };
/** A value set that takes whatever 1.x version of the system there is. */
const WILDCARD = {
  resourceType: 'ValueSet',
  status: 'active',
  url: 'http://forlop.test/ValueSet/wildcard',
  compose: { include: [{ system: TEST_CS, version: '1.x' }] },
};
const CHECK_10 = { name: 'check-system-version', valueUri: `${TEST_CS}|1.0.x` };
const REFUSED = `The version '1.2.0' is not allowed for system '${TEST_CS}': required to be '1.0.x' by a version-check parameter`;

/** Versions of a code system in a value set: wildcards (`1.x`) against checks and the coding, two at once. */
describe.each(BACKENDS)('code system versions in a value set ($name)', (backend) => {
  const t = useServer(backend);
  const post = (op: string, parameter: unknown[]) =>
    t
      .http()
      .post(`/fhir/ValueSet/$${op}`)
      .set('Content-Type', FHIR_JSON)
      .send({
        resourceType: 'Parameters',
        parameter: [
          { name: 'valueSet', resource: WILDCARD },
          { name: 'tx-resource', resource: V1 },
          { name: 'tx-resource', resource: V12 },
          ...parameter,
        ],
      });

  it('$expand: the wildcard takes the latest 1.x; a check it fails is an error, not a narrower pick', async () => {
    const plain = await post('expand', []);
    expect(plain.body.expansion.parameter).toContainEqual({ name: 'used-codesystem', valueUri: `${TEST_CS}|1.2.0` });
    const checked = await post('expand', [CHECK_10]);
    expect(checked.status).toBe(422);
    expect(checked.body.issue[0].details).toMatchObject({ coding: [{ code: 'version-error' }], text: REFUSED });
  });

  it('$validate-code: a versionless coding is checked against the latest 1.x, and fails the check', async () => {
    const res = await post('validate-code', [
      { name: 'coding', valueCoding: { system: TEST_CS, code: 'ocd' } },
      CHECK_10,
    ]);
    expect(expectResult(res.body, false)).toContainEqual(
      expect.objectContaining({ type: 'version-error', text: REFUSED, expression: ['Coding.version'] }),
    );
  });

  it('excludeNested=false with two versions of a system nests each code under its own version', async () => {
    const both = {
      ...WILDCARD,
      compose: {
        include: [
          { system: TEST_CS, version: '1.0.0' },
          { system: TEST_CS, version: '2.0.0' },
        ],
      },
    };
    const v2 = { ...CONDITIONS, id: undefined, version: '2.0.0' };
    const res = await t
      .http()
      .post('/fhir/ValueSet/$expand')
      .set('Content-Type', FHIR_JSON)
      .send({
        resourceType: 'Parameters',
        parameter: [
          { name: 'valueSet', resource: both },
          { name: 'tx-resource', resource: V1 },
          { name: 'tx-resource', resource: v2 },
          { name: 'excludeNested', valueBoolean: false },
        ],
      });
    expect(res.status).toBe(200);
    const roots = res.body.expansion.contains as { code: string; version: string; contains?: unknown[] }[];
    const mental = roots.filter((c) => c.code === 'mental');
    expect(mental.map((c) => c.version).sort()).toEqual(['1.0.0', '2.0.0']);
    for (const m of mental) {
      const children = m.contains as { code: string; version: string }[];
      expect(children.map((c) => c.code)).toContain('psychosis');
      expect(children.every((c) => c.version === m.version)).toBe(true);
    }
  });

  it("$validate-code: a coding's own version that the wildcard allows is the one used", async () => {
    const coding = { system: TEST_CS, version: '1.0.0', code: 'ocd' };
    const res = await post('validate-code', [{ name: 'coding', valueCoding: coding }, CHECK_10]);
    expectResult(res.body, true);
    expect(param(res.body, 'version')?.valueString).toBe('1.0.0');
    expect(param(res.body, 'display')?.valueString).toBe('Obsessive-compulsive disorder');
    // without a check too: the coding's version, not the latest
    const plain = await post('validate-code', [{ name: 'coding', valueCoding: coding }]);
    expect(param(plain.body, 'version')?.valueString).toBe('1.0.0');
  });

  describe('an exclude of another version (versionsMatch)', () => {
    const v2 = { ...CONDITIONS, id: undefined, version: '2.0.0', concept: [{ code: 'ocd' }, { code: 'new-in-2' }] };
    const diff = (extra: unknown[] = []) => ({
      ...WILDCARD,
      compose: {
        ...(extra.length ? { extension: extra } : {}),
        include: [{ system: TEST_CS, version: '2.0.0' }],
        exclude: [{ system: TEST_CS, version: '1.0.0' }],
      },
    });
    const run = (vs: unknown) =>
      t
        .http()
        .post('/fhir/ValueSet/$expand')
        .set('Content-Type', FHIR_JSON)
        .send({
          resourceType: 'Parameters',
          parameter: [
            { name: 'valueSet', resource: vs },
            { name: 'tx-resource', resource: V1 },
            { name: 'tx-resource', resource: v2 },
          ],
        });

    it('by default removes the codes of 1.0.0 from 2.0.0, says so, and shows the versions', async () => {
      const res = await run(diff());
      expect(res.status).toBe(200);
      expect(res.body.expansion.contains).toEqual([
        expect.objectContaining({ system: TEST_CS, version: '2.0.0', code: 'new-in-2' }),
      ]);
      expect(res.body.expansion.parameter).toContainEqual({ name: 'versionsMatch', valueBoolean: true });
    });

    it('with versionsMatch=false (a value set expansion parameter) an exclude keeps to its version', async () => {
      const off = {
        url: 'http://hl7.org/fhir/StructureDefinition/valueset-expansion-parameter',
        extension: [
          { url: 'name', valueCode: 'versionsMatch' },
          { url: 'value', valueString: 'false' },
        ],
      };
      const res = await run(diff([off]));
      expect(res.body.expansion.contains.map((c: { code: string }) => c.code).sort()).toEqual(['new-in-2', 'ocd']);
      expect(res.body.expansion.parameter.map((p: { name: string }) => p.name)).not.toContain('versionsMatch');
    });
  });

  describe('$validate-code against a value set including two versions', () => {
    const v2 = { ...CONDITIONS, id: undefined, version: '2.0.0', concept: [{ code: 'ocd' }, { code: 'new-in-2' }] };
    const both = {
      ...WILDCARD,
      compose: {
        include: [
          { system: TEST_CS, version: '1.0.0' },
          { system: TEST_CS, version: '2.0.0' },
        ],
      },
    };
    const check = (coding: unknown) =>
      t
        .http()
        .post('/fhir/ValueSet/$validate-code')
        .set('Content-Type', FHIR_JSON)
        .send({
          resourceType: 'Parameters',
          parameter: [
            { name: 'valueSet', resource: both },
            { name: 'tx-resource', resource: V1 },
            { name: 'tx-resource', resource: v2 },
            { name: 'coding', valueCoding: coding },
          ],
        });

    it('a versionless code only the second version has is found there', async () => {
      const res = await check({ system: TEST_CS, code: 'new-in-2' });
      expectResult(res.body, true);
      expect(param(res.body, 'version')?.valueString).toBe('2.0.0');
    });

    it('a coding naming one of the versions is judged in that version only', async () => {
      const res = await check({ system: TEST_CS, version: '2.0.0', code: 'eating' });
      const issues = expectResult(res.body, false);
      expect(issues.map((i) => i.type).sort()).toEqual(['invalid-code', 'not-in-vs']);
      expect(issues.find((i) => i.type === 'invalid-code')?.text).toContain("version '2.0.0'");
      expect(param(res.body, 'display')).toBeUndefined();
      expectResult((await check({ system: TEST_CS, version: '1.0.0', code: 'eating' })).body, true);
    });
  });
});
