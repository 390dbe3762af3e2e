import { describe, expect, it } from 'vitest';
import { BACKENDS } from '../support/backends.js';
import { FHIR_JSON, useFixtures, useServer } from '../support/server.js';
import { CONDITIONS, CS, expectResult, OID, param, TEST_CS, useTerminology, VS } from './support.js';

const PARAMS = (parameter: unknown[]) => ({ resourceType: 'Parameters', parameter });

describe.each(BACKENDS)('$validate-code ($name)', (backend) => {
  const t = useServer(backend);
  useTerminology(t);
  useFixtures(t, () => [CONDITIONS]);
  const get = (path: string, query: Record<string, string>) => t.http().get(`/fhir/${path}`).query(query);
  const post = (path: string, parameter: unknown[]) =>
    t.http().post(`/fhir/${path}`).set('Content-Type', FHIR_JSON).send(PARAMS(parameter));

  describe('on a value set: the pathway rules', () => {
    // which codes a pathway may use: P (start of psychosis symptoms) only in D06, T/UE/UM only in D07
    it.each([
      ['pathway-D06-codes', 'D06P', true],
      ['pathway-D07-codes', 'D07P', false],
      ['pathway-D07-codes', 'D07T', true],
      ['pathway-D11-codes', 'D11T', false],
      ['pathway-D07-codes', 'D07UE', true],
      ['pathway-D07-codes', 'D07UM', true],
      ['pathway-D08-codes', 'D08UM', false],
      ['pathway-D08-codes', 'D08XM', true],
      ['pathway-D06-codes', 'D06XM', false],
    ])('%s contains %s: %s', async (vs, code, result) => {
      const res = await get('ValueSet/$validate-code', { url: VS(vs), system: CS('9327'), code });
      expect(res.status).toBe(200);
      const issues = expectResult(res.body, result);
      if (!result) {
        expect(issues).toContainEqual(
          expect.objectContaining({ severity: 'error', type: 'not-in-vs', expression: ['code'] }),
        );
        expect(param(res.body, 'message')?.valueString).toContain(code);
      } else expect(param(res.body, 'display')?.valueString).toMatch(/\S/);
    });

    it('per-pathway event outcomes: UE is an activity only the OCD pathway registers', async () => {
      const ok = await get('ValueSet/$validate-code', {
        url: VS('pathway-D07-U-outcomes'),
        system: CS('9325'),
        code: 'E',
      });
      expectResult(ok.body, true);
      const no = await get('ValueSet/$validate-code', {
        url: VS('pathway-D11-U-outcomes'),
        system: CS('9325'),
        code: 'E',
      });
      expectResult(no.body, false);
    });

    it('accepts the Volven OID as the system, the way Norwegian data carries it', async () => {
      const res = await get('ValueSet/$validate-code', {
        url: VS('pathway-D06-codes'),
        system: OID('9327'),
        code: 'D06P',
      });
      expectResult(res.body, true);
      expect(param(res.body, 'display')?.valueString).toBe('Psykose symptomstart');
    });

    it('a coding and a CodeableConcept (one good coding is enough; the other is information)', async () => {
      const coding = await post('ValueSet/$validate-code', [
        { name: 'url', valueUri: VS('pathway-types') },
        { name: 'coding', valueCoding: { system: CS('9321'), code: 'D11' } },
      ]);
      expectResult(coding.body, true);
      const cc = await post('ValueSet/$validate-code', [
        { name: 'url', valueUri: VS('pathway-D06-codes') },
        {
          name: 'codeableConcept',
          valueCodeableConcept: {
            coding: [
              { system: CS('9327'), code: 'D07T' },
              { system: CS('9327'), code: 'D06A' },
            ],
          },
        },
      ]);
      const issues = expectResult(cc.body, true);
      expect(param(cc.body, 'code')?.valueCode).toBe('D06A');
      expect(issues).toEqual([
        expect.objectContaining({
          severity: 'information',
          type: 'this-code-not-in-vs',
          expression: ['CodeableConcept.coding[0].code'],
        }),
      ]);
      expect(param(cc.body, 'codeableConcept')?.valueCodeableConcept?.coding).toHaveLength(2);
    });

    it('a CodeableConcept with no coding in the value set fails with one error for the whole', async () => {
      const res = await post('ValueSet/$validate-code', [
        { name: 'url', valueUri: VS('pathway-D06-codes') },
        { name: 'codeableConcept', valueCodeableConcept: { coding: [{ system: CS('9327'), code: 'D07T' }] } },
      ]);
      const issues = expectResult(res.body, false);
      expect(issues.filter((i) => i.severity === 'error').map((i) => i.type)).toEqual(['not-in-vs']);
      // nothing in the value set: no code, system or display is reported for the concept
      for (const name of ['code', 'system', 'display']) expect(param(res.body, name)).toBeUndefined();
    });

    it('a bare code whose system cannot be inferred: the issue says why', async () => {
      const res = await get('ValueSet/$validate-code', { url: VS('pathway-types'), code: 'nothing' });
      expect(expectResult(res.body, false)).toContainEqual(
        expect.objectContaining({
          type: 'cannot-infer',
          text: expect.stringContaining(`none of the value set's code systems has it (${CS('9321')})`),
        }),
      );
    });

    it('valueset-membership-only: only whether the codes are in the value set', async () => {
      const res = await post('ValueSet/$validate-code', [
        { name: 'url', valueUri: VS('pathway-types') },
        { name: 'valueset-membership-only', valueBoolean: true },
        { name: 'lenient-display-validation', valueBoolean: false },
        {
          name: 'codeableConcept',
          valueCodeableConcept: { coding: [{ system: CS('9321'), code: 'D11', display: 'Wrong' }] },
        },
      ]);
      expect(expectResult(res.body, true)).toEqual([]);
      const unknown = await post('ValueSet/$validate-code', [
        { name: 'url', valueUri: VS('pathway-types') },
        { name: 'valueset-membership-only', valueBoolean: true },
        { name: 'coding', valueCoding: { system: CS('9321'), code: 'nothing' } },
      ]);
      expect(expectResult(unknown.body, false).map((i) => i.type)).toEqual(['not-in-vs']);
    });

    it('a Coding without a system is not inferred: a warning and not in the value set', async () => {
      const res = await post('ValueSet/$validate-code', [
        { name: 'url', valueUri: VS('pathway-types') },
        { name: 'coding', valueCoding: { code: 'D11' } },
      ]);
      expect(expectResult(res.body, false)).toEqual([
        expect.objectContaining({ severity: 'warning', type: 'invalid-data', expression: ['Coding'] }),
        expect.objectContaining({ severity: 'error', type: 'not-in-vs', expression: ['Coding.code'] }),
      ]);
    });

    it('a bare code takes its system from the value set when only one system has it', async () => {
      const res = await get('ValueSet/$validate-code', { url: VS('pathway-types'), code: 'D12' });
      expectResult(res.body, true);
      expect(param(res.body, 'system')?.valueUri).toBe(CS('9321'));
    });

    it('instance level, GET and POST', async () => {
      const a = await get('ValueSet/pathway-D01-events/$validate-code', { system: CS('9322'), code: 'L' });
      expectResult(a.body, true);
      const b = await post('ValueSet/pathway-D11-events/$validate-code', [
        { name: 'system', valueUri: CS('9322') },
        { name: 'code', valueCode: 'L' },
      ]);
      expectResult(b.body, false);
    });
  });

  describe('displays', () => {
    it('a wrong display is a warning by default: the code is still valid', async () => {
      const res = await get('ValueSet/$validate-code', {
        url: VS('pathway-types'),
        system: CS('9321'),
        code: 'D06',
        display: 'Psykose',
      });
      const issues = expectResult(res.body, true);
      expect(issues).toEqual([
        expect.objectContaining({ severity: 'warning', type: 'invalid-display', expression: ['display'] }),
      ]);
      expect(param(res.body, 'display')?.valueString).toBe('Psykoseutvikling og psykoselidelser');
      expect(param(res.body, 'message')?.valueString).toContain("Wrong Display Name 'Psykose'");
    });

    it('is an error when the request asks for strict displays (lenient-display-validation=false)', async () => {
      const res = await get('ValueSet/$validate-code', {
        url: VS('pathway-types'),
        system: CS('9321'),
        code: 'D06',
        display: 'Psykose',
        'lenient-display-validation': 'false',
      });
      expect(expectResult(res.body, false)).toEqual([
        expect.objectContaining({ severity: 'error', type: 'invalid-display' }),
      ]);
    });

    it("without a language asked for, the value set's own language decides which displays are valid", async () => {
      const vs = {
        resourceType: 'ValueSet',
        status: 'active',
        language: 'nb',
        compose: { include: [{ system: TEST_CS, concept: [{ code: 'ocd' }] }] },
      };
      const check = (display: string) =>
        post('ValueSet/$validate-code', [
          { name: 'valueSet', resource: vs },
          { name: 'coding', valueCoding: { system: TEST_CS, code: 'ocd', display } },
          { name: 'lenient-display-validation', valueBoolean: false },
        ]);
      expectResult((await check('Tvangslidelse')).body, true);
      expect(expectResult((await check('Obsessive-compulsive disorder')).body, false)[0].type).toBe('invalid-display');
    });

    it('a wrong display names the valid choices with their languages, or says none is in the language', async () => {
      const wrong = (extra: Record<string, string>) =>
        get('CodeSystem/$validate-code', { url: TEST_CS, code: 'ocd', display: 'Tvang', ...extra });
      expect(expectResult((await wrong({})).body, true)[0].text).toBe(
        `Wrong Display Name 'Tvang' for ${TEST_CS}#ocd. Valid display is one of 2 choices: ` +
          "'Obsessive-compulsive disorder' (en) or 'Tvangslidelse' (nb) (for the language(s) '--')",
      );
      expect(expectResult((await wrong({ displayLanguage: 'nb' })).body, true)[0].text).toBe(
        `Wrong Display Name 'Tvang' for ${TEST_CS}#ocd. Valid display is 'Tvangslidelse' (nb) (for the language(s) 'nb')`,
      );
      expect(expectResult((await wrong({ displayLanguage: 'de' })).body, true)[0].text).toBe(
        `Wrong Display Name 'Tvang' for ${TEST_CS}#ocd. There are no valid display names found for language(s) 'de'. ` +
          "Default display is 'Obsessive-compulsive disorder'",
      );
    });

    it('designations count as valid displays: English, and the current «nasjonale pasientforløp» text', async () => {
      for (const display of [
        'Pathway start',
        'Nasjonalt pasientforløp start',
        'Pakkeforløp start',
        '  pakkeforløp   START ',
      ]) {
        const res = await get('CodeSystem/$validate-code', { url: CS('9322'), code: 'A', display });
        expect(expectResult(res.body, true), display).toEqual([]);
      }
    });

    it('a displayLanguage that is not a language tag is 400', async () => {
      const res = await get('CodeSystem/$validate-code', { url: TEST_CS, code: 'ocd', displayLanguage: '-' });
      expect(res.status).toBe(400);
      expect(res.body.issue[0]).toMatchObject({
        code: 'processing',
        details: { text: "Invalid displayLanguage: '-'" },
      });
    });

    it('displayLanguage picks the display returned', async () => {
      const res = await get('CodeSystem/$validate-code', { url: CS('9322'), code: 'M', displayLanguage: 'en' });
      expect(param(res.body, 'display')?.valueString).toBe('First attendance in the pathway');
    });
  });

  describe('on a code system', () => {
    it('code, coding and codeableConcept forms, with element paths in the issues', async () => {
      const code = await get('CodeSystem/$validate-code', { url: CS('9326'), code: 'Q' });
      expect(expectResult(code.body, false)).toEqual([
        expect.objectContaining({
          severity: 'error',
          code: 'code-invalid',
          type: 'invalid-code',
          expression: ['code'],
        }),
      ]);
      const coding = await post('CodeSystem/$validate-code', [
        { name: 'coding', valueCoding: { system: CS('9326'), code: 'Q' } },
      ]);
      expect(expectResult(coding.body, false)[0].expression).toEqual(['Coding.code']);
      const good = await post('CodeSystem/$validate-code', [
        { name: 'url', valueUri: CS('9326') },
        { name: 'coding', valueCoding: { system: CS('9326'), code: 'G' } },
      ]);
      expectResult(good.body, true);
      expect(param(good.body, 'version')?.valueString).toBe('2024-12-06');
    });

    it('an inactive code is valid with a warning and `inactive`', async () => {
      const res = await get('CodeSystem/$validate-code', { url: TEST_CS, code: 'old-neurosis' });
      const issues = expectResult(res.body, true);
      expect(issues).toEqual([expect.objectContaining({ severity: 'warning', type: 'code-comment' })]);
      expect(param(res.body, 'inactive')?.valueBoolean).toBe(true);
    });

    it('a retired code: its status is given, and the warning says it is inactive too', async () => {
      const res = await get('CodeSystem/$validate-code', { url: TEST_CS, code: 'old-neurosis' });
      expect(expectResult(res.body, true)[0].text).toBe(
        "The concept 'old-neurosis' has a status of retired and inactive and its use should be reviewed",
      );
      expect(param(res.body, 'status')?.valueCode).toBe('retired');
      const active = await get('CodeSystem/$validate-code', { url: TEST_CS, code: 'ocd' });
      expect(param(active.body, 'status')).toBeUndefined();
    });

    it('an instance, and a codeSystem sent inline', async () => {
      const inst = await get('CodeSystem/volven-3402/$validate-code', { code: '0301' });
      expect(param(inst.body, 'display')?.valueString).toBe('Oslo');
      const inline = await post('CodeSystem/$validate-code', [
        {
          name: 'codeSystem',
          resource: {
            resourceType: 'CodeSystem',
            url: 'http://example.org/inline',
            status: 'active',
            content: 'complete',
            concept: [{ code: 'x', display: 'X' }],
          },
        },
        { name: 'code', valueCode: 'x' },
      ]);
      expectResult(inline.body, true);
    });
  });

  describe('code system versions chosen by the version parameters', () => {
    const v2 = { ...CONDITIONS, id: undefined, version: '2.0.0' };
    const versionless = { resourceType: 'ValueSet', status: 'active', compose: { include: [{ system: TEST_CS }] } };
    const check = (coding: unknown, extra: unknown[]) =>
      post('ValueSet/$validate-code', [
        { name: 'valueSet', resource: versionless },
        { name: 'tx-resource', resource: v2 },
        { name: 'coding', valueCoding: coding },
        ...extra,
      ]);

    it('a versionless code in a value set of two versions: the latest that has it, or has its display', async () => {
      const both = {
        resourceType: 'ValueSet',
        status: 'active',
        compose: {
          include: [
            { system: TEST_CS, version: '1.0.0' },
            { system: TEST_CS, version: '2.0.0' },
          ],
        },
      };
      const renamed = { ...v2, concept: [{ code: 'ocd', display: 'OCD' }] };
      const run = (coding: unknown) =>
        post('ValueSet/$validate-code', [
          { name: 'valueSet', resource: both },
          { name: 'tx-resource', resource: renamed },
          { name: 'coding', valueCoding: coding },
        ]);
      const latest = await run({ system: TEST_CS, code: 'ocd' });
      expect(param(latest.body, 'version')?.valueString).toBe('2.0.0');
      const older = await run({ system: TEST_CS, code: 'ocd', display: 'Obsessive-compulsive disorder' });
      expectResult(older.body, true);
      expect(param(older.body, 'version')?.valueString).toBe('1.0.0');
      const onlyOld = await run({ system: TEST_CS, code: 'eating' });
      expect(param(onlyOld.body, 'version')?.valueString).toBe('1.0.0');
      // a code neither version has is looked for, and reported, in the latest
      const neither = await run({ system: TEST_CS, code: 'no-such-code' });
      expect(expectResult(neither.body, false)).toContainEqual(
        expect.objectContaining({
          type: 'invalid-code',
          text: `Unknown code 'no-such-code' in the CodeSystem '${TEST_CS}' version '2.0.0'`,
        }),
      );
      expect(param(neither.body, 'version')?.valueString).toBe('2.0.0');
    });

    it('check-system-version picks the version of a versionless include', async () => {
      const res = await check({ system: TEST_CS, code: 'ocd' }, [
        { name: 'check-system-version', valueUri: `${TEST_CS}|1.x` },
      ]);
      expectResult(res.body, true);
      expect(param(res.body, 'version')?.valueString).toBe('1.0.0');
    });

    it("a coding's version unlike the one system-version chose is an error naming both", async () => {
      const res = await check({ system: TEST_CS, version: '2.0.0', code: 'ocd' }, [
        { name: 'system-version', valueUri: `${TEST_CS}|1.0.0` },
      ]);
      expect(expectResult(res.body, false)).toContainEqual(
        expect.objectContaining({
          severity: 'error',
          type: 'vs-invalid',
          text: `The code system '${TEST_CS}' version '1.0.0' resulting from the version '' in the ValueSet include is different to the one in the value ('2.0.0')`,
          expression: ['Coding.version'],
        }),
      );
    });

    it('a CodeableConcept whose code system version is unknown: no verdict on membership', async () => {
      const res = await post('ValueSet/$validate-code', [
        { name: 'url', valueUri: VS('pathway-types') },
        {
          name: 'codeableConcept',
          valueCodeableConcept: { coding: [{ system: CS('9321'), version: '1999', code: 'D11' }] },
        },
      ]);
      const issues = expectResult(res.body, false);
      expect(issues.map((i) => i.type)).toContain('not-found');
      expect(issues.map((i) => i.type)).not.toContain('not-in-vs');
    });
  });

  describe('errors', () => {
    it('an unknown code system the value set draws on: x-caused-by-unknown-system', async () => {
      const res = await post('ValueSet/$validate-code', [
        {
          name: 'valueSet',
          resource: {
            resourceType: 'ValueSet',
            status: 'active',
            compose: { include: [{ system: 'http://example.org/unknown' }] },
          },
        },
        { name: 'coding', valueCoding: { system: 'http://example.org/unknown', code: 'x' } },
      ]);
      expect(expectResult(res.body, false).map((i) => i.type)).toContain('not-found');
      expect(param(res.body, 'x-caused-by-unknown-system')?.valueCanonical).toBe('http://example.org/unknown');
      expect(param(res.body, 'x-unknown-system')).toBeUndefined();
    });

    it('an unknown code system the value set does not use: result false, not-found issue and x-unknown-system', async () => {
      const res = await get('ValueSet/$validate-code', {
        url: VS('pathway-types'),
        system: 'http://example.org/unknown',
        code: 'D11',
      });
      const issues = expectResult(res.body, false);
      expect(issues).toContainEqual(
        expect.objectContaining({ severity: 'error', code: 'not-found', type: 'not-found', expression: ['system'] }),
      );
      expect(param(res.body, 'x-unknown-system')?.valueCanonical).toBe('http://example.org/unknown');
      expect(param(res.body, 'x-caused-by-unknown-system')).toBeUndefined();
    });

    it('an unknown version names the versions there are', async () => {
      const res = await get('CodeSystem/$validate-code', { url: CS('9321'), version: '1999', code: 'D11' });
      expect(expectResult(res.body, false)[0].text).toContain('Valid versions: 2024-12-06');
    });

    it.each([
      [
        'an unknown value set',
        { url: 'http://example.org/ValueSet/none', code: 'x', system: CS('9321') },
        404,
        'not-found',
      ],
      ['no code at all', { url: VS('pathway-types') }, 400, 'invalid'],
      ['no value set', { code: 'D11', system: CS('9321') }, 400, 'invalid'],
    ])('%s gives the status and outcome code given', async (_name, query, status, code) => {
      const res = await get('ValueSet/$validate-code', query as Record<string, string>);
      expect(res.status).toBe(status);
      expect(res.body.resourceType).toBe('OperationOutcome');
      expect(res.body.issue[0].code).toBe(code);
    });

    it('a POST body that is not Parameters is 400, a boolean that is not a boolean too', async () => {
      const a = await t
        .http()
        .post('/fhir/ValueSet/$validate-code')
        .set('Content-Type', FHIR_JSON)
        .send({ resourceType: 'Patient' });
      expect(a.status).toBe(400);
      const b = await get('ValueSet/$validate-code', {
        url: VS('pathway-types'),
        code: 'D11',
        'lenient-display-validation': 'perhaps',
      });
      expect(b.status).toBe(400);
      expect(b.body.issue[0].expression).toEqual(['lenient-display-validation']);
    });
  });
});
