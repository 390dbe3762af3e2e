import { describe, expect, it } from 'vitest';
import type { ValueSet } from '@medplum/fhirtypes';
import { BACKENDS } from '../support/backends.js';
import { FHIR_JSON, useServer } from '../support/server.js';
import { CONDITIONS, expectResult, param } from './support.js';

const STANDARDS_STATUS = 'http://hl7.org/fhir/StructureDefinition/structuredefinition-standards-status';
const DRAFT_CS = { ...CONDITIONS, id: undefined, url: 'http://forlop.test/CodeSystem/draft', status: 'draft' };
const WITHDRAWN_VS: ValueSet = {
  resourceType: 'ValueSet',
  url: 'http://forlop.test/ValueSet/withdrawn',
  version: '2.0.0',
  status: 'active',
  extension: [{ url: STANDARDS_STATUS, valueCode: 'withdrawn' }],
  compose: {
    include: [
      {
        system: DRAFT_CS.url,
        concept: [
          { code: 'ocd' },
          {
            code: 'eating',
            extension: [{ url: 'http://hl7.org/fhir/StructureDefinition/valueset-deprecated', valueBoolean: true }],
          },
        ],
      },
    ],
  },
};

describe.each(BACKENDS)('warnings about deprecated, withdrawn and draft definitions ($name)', (backend) => {
  const t = useServer(backend);
  const post = (path: string, parameter: unknown[]) =>
    t
      .http()
      .post(`/fhir/${path}`)
      .set('Content-Type', FHIR_JSON)
      .send({ resourceType: 'Parameters', parameter: [{ name: 'tx-resource', resource: DRAFT_CS }, ...parameter] });

  it('$expand names them in warning-* expansion parameters', async () => {
    const res = await post('ValueSet/$expand', [{ name: 'valueSet', resource: WITHDRAWN_VS }]);
    expect(res.status).toBe(200);
    expect(res.body.expansion.parameter).toEqual(
      expect.arrayContaining([
        { name: 'warning-draft', valueUri: `${DRAFT_CS.url}|1.0.0` },
        { name: 'warning-withdrawn', valueUri: `${WITHDRAWN_VS.url}|2.0.0` },
      ]),
    );
  });

  it('$validate-code notes them as information, outside the message; a code deprecated in the value set warns', async () => {
    const ok = await post('ValueSet/$validate-code', [
      { name: 'valueSet', resource: WITHDRAWN_VS },
      { name: 'coding', valueCoding: { system: DRAFT_CS.url, code: 'ocd' } },
    ]);
    const issues = expectResult(ok.body, true);
    expect(issues).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          severity: 'information',
          type: 'status-check',
          text: `Reference to draft CodeSystem ${DRAFT_CS.url}|1.0.0`,
        }),
        expect.objectContaining({
          severity: 'information',
          type: 'status-check',
          text: `Reference to withdrawn ValueSet ${WITHDRAWN_VS.url}|2.0.0`,
        }),
      ]),
    );
    expect(param(ok.body, 'message')).toBeUndefined();
    const deprecated = await post('ValueSet/$validate-code', [
      { name: 'valueSet', resource: WITHDRAWN_VS },
      { name: 'coding', valueCoding: { system: DRAFT_CS.url, code: 'eating' } },
    ]);
    expect(expectResult(deprecated.body, true)).toContainEqual(
      expect.objectContaining({ severity: 'warning', type: 'code-comment', expression: ['Coding.code'] }),
    );
  });
});
