import { describe, expect, it } from 'vitest';
import type { OperationOutcome } from '@medplum/fhirtypes';
import { BACKENDS } from '../support/backends.js';
import { FHIR_JSON, useServer } from '../support/server.js';
import { CONDITIONS, TEST_CS, expectResult, param } from './support.js';

const BASE = {
  resourceType: 'CodeSystem',
  version: '1.0.0',
  status: 'active',
  concept: [
    { code: 'kept', display: 'Kept' },
    {
      code: 'fading',
      display: 'Fading',
      extension: [
        {
          url: 'http://hl7.org/fhir/StructureDefinition/structuredefinition-standards-status',
          valueCode: 'deprecated',
        },
      ],
    },
  ],
};
const INSENSITIVE = {
  ...BASE,
  url: 'http://forlop.test/CodeSystem/any-case',
  caseSensitive: false,
  content: 'complete',
};
const FRAGMENT = { ...BASE, url: 'http://forlop.test/CodeSystem/fragment', content: 'fragment' };

describe.each(BACKENDS)('$validate-code notes on valid codes ($name)', (backend) => {
  const t = useServer(backend);
  const post = (path: string, parameter: unknown[]) =>
    t
      .http()
      .post(`/fhir/${path}`)
      .set('Content-Type', FHIR_JSON)
      .send({
        resourceType: 'Parameters',
        parameter: [
          ...parameter,
          { name: 'tx-resource', resource: INSENSITIVE },
          { name: 'tx-resource', resource: FRAGMENT },
          { name: 'tx-resource', resource: CONDITIONS },
        ],
      });

  it('a code in another case: valid, given as sent, with the normalized code and a note', async () => {
    const res = await post('CodeSystem/$validate-code', [
      { name: 'url', valueUri: INSENSITIVE.url },
      { name: 'code', valueCode: 'KEPT' },
    ]);
    const issues = expectResult(res.body, true);
    expect(param(res.body, 'code')?.valueCode).toBe('KEPT');
    expect(param(res.body, 'normalized-code')?.valueCode).toBe('kept');
    expect(issues).toEqual([expect.objectContaining({ severity: 'information', type: 'code-rule' })]);
    expect(param(res.body, 'message')).toBeUndefined();
  });

  it('a deprecated code: valid, with its status and a warning', async () => {
    const res = await post('CodeSystem/$validate-code', [
      { name: 'url', valueUri: INSENSITIVE.url },
      { name: 'code', valueCode: 'fading' },
    ]);
    expect(expectResult(res.body, true)).toEqual([
      expect.objectContaining({
        severity: 'warning',
        type: 'code-comment',
        text: "The concept 'fading' is deprecated and its use should be reviewed",
      }),
    ]);
    expect(param(res.body, 'status')?.valueCode).toBe('deprecated');
  });

  it('a code a fragment lacks is not denied: a warning, no membership error, result true', async () => {
    const res = await post('ValueSet/$validate-code', [
      {
        name: 'valueSet',
        resource: { resourceType: 'ValueSet', status: 'active', compose: { include: [{ system: FRAGMENT.url }] } },
      },
      { name: 'coding', valueCoding: { system: FRAGMENT.url, code: 'elsewhere' } },
    ]);
    const issues = expectResult(res.body, true);
    expect(issues).toEqual([expect.objectContaining({ severity: 'warning', type: 'invalid-code' })]);
    expect(issues[0].text).toContain('labeled as a fragment');
  });

  it.each([
    ['a local reference', 'Location1', 'Coding.system must be an absolute reference, not a local reference'],
    [
      "a value set's url",
      'http://forlop.test/ValueSet/as-system',
      "The Coding references a value set, not a code system ('http://forlop.test/ValueSet/as-system')",
    ],
  ])('a Coding.system that is %s is invalid data', async (_name, system, text) => {
    const vs = {
      resourceType: 'ValueSet',
      url: 'http://forlop.test/ValueSet/as-system',
      status: 'active',
      compose: { include: [{ system: INSENSITIVE.url }] },
    };
    const res = await post('ValueSet/$validate-code', [
      { name: 'url', valueUri: vs.url },
      { name: 'tx-resource', resource: vs },
      { name: 'coding', valueCoding: { system, code: 'kept' } },
    ]);
    expect(expectResult(res.body, false)).toContainEqual(
      expect.objectContaining({ code: 'invalid', type: 'invalid-data', text, expression: ['Coding.system'] }),
    );
  });

  it('abstract = false: a notSelectable code is not valid, nor a member of a value set that has it', async () => {
    const mental = { name: 'coding', valueCoding: { system: TEST_CS, code: 'mental' } };
    const abstractNo = { name: 'abstract', valueBoolean: false };
    const codeRule = expect.objectContaining({
      severity: 'error',
      type: 'code-rule',
      text: `Code '${TEST_CS}#mental' is abstract, and not allowed in this context`,
      expression: ['Coding.code'],
    });
    const cs = await post('CodeSystem/$validate-code', [mental, abstractNo]);
    expect(expectResult(cs.body, false)).toEqual([codeRule]);
    const valueSet = {
      name: 'valueSet',
      resource: { resourceType: 'ValueSet', status: 'active', compose: { include: [{ system: TEST_CS }] } },
    };
    const vs = await post('ValueSet/$validate-code', [valueSet, mental, abstractNo]);
    expect(expectResult(vs.body, false)).toEqual([
      codeRule,
      expect.objectContaining({ severity: 'error', type: 'not-in-vs' }),
    ]);
    // without the parameter (or with true) an abstract code is valid, as before
    expectResult((await post('ValueSet/$validate-code', [valueSet, mental])).body, true);
  });

  it('issues name the element in `expression` only, not the deprecated `location`', async () => {
    const res = await post('CodeSystem/$validate-code', [
      { name: 'url', valueUri: INSENSITIVE.url },
      { name: 'code', valueCode: 'missing' },
    ]);
    const outcome = param(res.body, 'issues')?.resource as OperationOutcome;
    const issue = outcome.issue[0];
    expect(issue.expression).toEqual(['code']);
    expect(issue).not.toHaveProperty('location');
  });

  it('a code outside the value set is named with the version it was given; an inline value set is unidentified', async () => {
    const res = await post('ValueSet/$validate-code', [
      {
        name: 'valueSet',
        resource: { resourceType: 'ValueSet', status: 'active', compose: { include: [{ system: FRAGMENT.url }] } },
      },
      { name: 'coding', valueCoding: { system: INSENSITIVE.url, version: '1.0.0', code: 'kept' } },
    ]);
    expect(expectResult(res.body, false)).toContainEqual(
      expect.objectContaining({
        type: 'not-in-vs',
        text: `The provided code '${INSENSITIVE.url}|1.0.0#kept' was not found in the value set '(unidentified)'`,
      }),
    );
  });

  it('a CodeableConcept in a system the value set does not use, of which no version is known: not in it', async () => {
    const nowhere = 'http://forlop.test/CodeSystem/nowhere';
    const res = await post('ValueSet/$validate-code', [
      {
        name: 'valueSet',
        resource: { resourceType: 'ValueSet', status: 'active', compose: { include: [{ system: FRAGMENT.url }] } },
      },
      { name: 'codeableConcept', valueCodeableConcept: { coding: [{ system: nowhere, version: '9', code: 'x' }] } },
    ]);
    const issues = expectResult(res.body, false);
    expect(issues).toContainEqual(
      expect.objectContaining({
        type: 'not-in-vs',
        text: "No valid coding was found for the value set '(unidentified)'",
      }),
    );
    expect(issues).toContainEqual(
      expect.objectContaining({
        type: 'not-found',
        text: `A definition for CodeSystem '${nowhere}' version '9' could not be found, so the code cannot be validated. No versions of this code system are known`,
      }),
    );
    expect(param(res.body, 'x-unknown-system')?.valueCanonical).toBe(nowhere);
  });

  it("issues name their message as the HL7 tools' message catalogue does", async () => {
    const res = await post('CodeSystem/$validate-code', [
      { name: 'url', valueUri: INSENSITIVE.url },
      { name: 'code', valueCode: 'missing' },
      { name: 'display', valueString: 'Missing' },
    ]);
    const outcome = param(res.body, 'issues')?.resource as OperationOutcome;
    expect(outcome.issue[0].extension).toEqual([
      {
        url: 'http://hl7.org/fhir/StructureDefinition/operationoutcome-message-id',
        valueString: 'Unknown_Code_in_Version',
      },
    ]);
  });
});
