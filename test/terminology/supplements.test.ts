import { describe, expect, it } from 'vitest';
import type { Parameters, ValueSet, ValueSetExpansionContains } from '@medplum/fhirtypes';
import { BACKENDS } from '../support/backends.js';
import { FHIR_JSON, useFixtures, useServer } from '../support/server.js';
import { CONDITIONS, expectResult, param, TEST_CS } from './support.js';

const SUPPLEMENT_URL = 'http://forlop.test/CodeSystem/conditions-nn';

/** A supplement adding Nynorsk designations and a property to the test code system. */
const SUPPLEMENT = {
  resourceType: 'CodeSystem',
  id: 'conditions-nn',
  url: SUPPLEMENT_URL,
  version: '0.1.0',
  status: 'active',
  content: 'supplement',
  supplements: TEST_CS,
  property: [{ code: 'register', uri: 'http://forlop.test/property/register', type: 'string' }],
  concept: [
    {
      code: 'ocd',
      designation: [{ language: 'nn', value: 'Tvangsliding' }],
      property: [{ code: 'register', valueString: 'NPR' }],
    },
  ],
};

const SUPPLEMENTED_VS: ValueSet = {
  resourceType: 'ValueSet',
  url: 'http://forlop.test/ValueSet/conditions-nn',
  status: 'active',
  extension: [{ url: 'http://hl7.org/fhir/StructureDefinition/valueset-supplement', valueCanonical: SUPPLEMENT_URL }],
  compose: { include: [{ system: TEST_CS, concept: [{ code: 'ocd' }, { code: 'substance' }] }] },
};

describe.each(BACKENDS)('CodeSystem supplements ($name)', (backend) => {
  const t = useServer(backend);
  useFixtures(t, () => [CONDITIONS, SUPPLEMENT]);
  const post = (path: string, parameter: unknown[]) =>
    t.http().post(`/fhir/${path}`).set('Content-Type', FHIR_JSON).send({ resourceType: 'Parameters', parameter });

  it('$lookup with useSupplement shows its designations with their source, and names it as used', async () => {
    const res = await post('CodeSystem/$lookup', [
      { name: 'system', valueUri: TEST_CS },
      { name: 'code', valueCode: 'ocd' },
      { name: 'useSupplement', valueCanonical: SUPPLEMENT_URL },
    ]);
    expect(res.status).toBe(200);
    const body = res.body as Parameters;
    expect(body.parameter).toContainEqual({
      name: 'designation',
      part: [
        { name: 'language', valueCode: 'nn' },
        { name: 'source', valueCanonical: `${SUPPLEMENT_URL}|0.1.0` },
        { name: 'value', valueString: 'Tvangsliding' },
      ],
    });
    expect(param(body, 'used-supplement')?.valueCanonical).toBe(`${SUPPLEMENT_URL}|0.1.0`);
    const plain = await post('CodeSystem/$lookup', [
      { name: 'system', valueUri: TEST_CS },
      { name: 'code', valueCode: 'ocd' },
    ]);
    expect(JSON.stringify(plain.body)).not.toContain('Tvangsliding');
    expect(param(plain.body, 'used-supplement')).toBeUndefined();
  });

  it('$expand of a value set naming a supplement: its properties and designations, used-supplement', async () => {
    const res = await post('ValueSet/$expand', [
      { name: 'valueSet', resource: SUPPLEMENTED_VS },
      { name: 'includeDesignations', valueBoolean: true },
      { name: 'property', valueString: 'register' },
    ]);
    expect(res.status).toBe(200);
    const ocd = res.body.expansion.contains.find((c: ValueSetExpansionContains) => c.code === 'ocd');
    expect(ocd.designation).toContainEqual({ language: 'nn', value: 'Tvangsliding' });
    expect(ocd.property).toEqual([{ code: 'register', valueString: 'NPR' }]);
    expect(res.body.expansion.property).toEqual([{ code: 'register', uri: 'http://forlop.test/property/register' }]);
    expect(res.body.expansion.parameter).toContainEqual({
      name: 'used-supplement',
      valueUri: `${SUPPLEMENT_URL}|0.1.0`,
    });
  });

  it("$validate-code accepts a supplement's designation as a display", async () => {
    const coding = { system: TEST_CS, code: 'ocd', display: 'Tvangsliding' };
    const res = await post('ValueSet/$validate-code', [
      { name: 'valueSet', resource: SUPPLEMENTED_VS },
      { name: 'coding', valueCoding: coding },
      { name: 'lenient-display-validation', valueBoolean: false },
    ]);
    expectResult(res.body, true);
    const without = await post('ValueSet/$validate-code', [
      { name: 'valueSet', resource: { ...SUPPLEMENTED_VS, extension: [] } },
      { name: 'coding', valueCoding: coding },
      { name: 'lenient-display-validation', valueBoolean: false },
    ]);
    expect(expectResult(without.body, false).map((i) => i.type)).toContain('invalid-display');
  });

  it.each([
    ['ValueSet/$expand', [{ name: 'valueSet', resource: SUPPLEMENTED_VS }]],
    [
      'CodeSystem/$lookup',
      [
        { name: 'system', valueUri: TEST_CS },
        { name: 'code', valueCode: 'ocd' },
      ],
    ],
  ])('%s: a supplement that cannot be found is a 404 naming it', async (path, parameter) => {
    const res = await post(path, [...parameter, { name: 'useSupplement', valueCanonical: `${SUPPLEMENT_URL}-x` }]);
    expect(res.status).toBe(404);
    expect(res.body.issue[0]).toMatchObject({
      severity: 'error',
      code: 'not-found',
      details: { text: `Required supplement not found: ${SUPPLEMENT_URL}-x` },
    });
  });
});
