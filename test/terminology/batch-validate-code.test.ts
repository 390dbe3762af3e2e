import { describe, expect, it } from 'vitest';
import type { Parameters } from '@medplum/fhirtypes';
import { BACKENDS } from '../support/backends.js';
import { FHIR_JSON, useFixtures, useServer } from '../support/server.js';
import { CONDITIONS, expectResult, param, TEST_CS } from './support.js';

const VALUE_SET = {
  resourceType: 'ValueSet',
  url: 'http://forlop.test/ValueSet/batch',
  status: 'active',
  compose: { include: [{ system: TEST_CS, concept: [{ code: 'ocd' }, { code: 'old-neurosis' }] }] },
};
const validation = (...parameter: unknown[]) => ({
  name: 'validation',
  resource: { resourceType: 'Parameters', parameter },
});

describe.each(BACKENDS)('$batch-validate-code ($name)', (backend) => {
  const t = useServer(backend);
  useFixtures(t, () => [CONDITIONS]);
  const post = (parameter: unknown[]) =>
    t
      .http()
      .post('/fhir/ValueSet/$batch-validate-code')
      .set('Content-Type', FHIR_JSON)
      .send({ resourceType: 'Parameters', parameter });
  const answers = (body: Parameters) => (body.parameter ?? []).map((p) => p.resource as Parameters);

  it('answers each validation in order, with the shared value set and parameters', async () => {
    const res = await post([
      { name: 'tx-resource', resource: VALUE_SET },
      { name: 'url', valueUri: VALUE_SET.url },
      { name: 'lenient-display-validation', valueBoolean: false },
      validation({ name: 'coding', valueCoding: { system: TEST_CS, code: 'ocd' } }),
      validation({ name: 'coding', valueCoding: { system: TEST_CS, code: 'substance' } }),
      validation({ name: 'coding', valueCoding: { system: TEST_CS, code: 'ocd', display: 'Wrong' } }),
      validation(
        { name: 'coding', valueCoding: { system: TEST_CS, code: 'ocd', display: 'Wrong' } },
        { name: 'lenient-display-validation', valueBoolean: true },
      ),
    ]);
    expect(res.status).toBe(200);
    const [ok, outside, strict, lenient] = answers(res.body);
    expectResult(ok, true);
    expect(param(ok, 'display')?.valueString).toBe('Obsessive-compulsive disorder');
    expect(expectResult(outside, false).map((i) => i.type)).toContain('not-in-vs');
    expect(expectResult(strict, false)[0]).toMatchObject({ severity: 'error', type: 'invalid-display' });
    expect(expectResult(lenient, true)[0]).toMatchObject({ severity: 'warning', type: 'invalid-display' });
  });

  it('a validation without a code is answered with its OperationOutcome; the others still run', async () => {
    const res = await post([
      { name: 'valueSet', resource: VALUE_SET },
      validation({ name: 'codingX', valueCoding: { system: TEST_CS, code: 'ocd' } }),
      validation({ name: 'code', valueCode: 'ocd' }),
    ]);
    expect(res.status).toBe(200);
    const [bad, good] = answers(res.body);
    expect(bad.resourceType).toBe('OperationOutcome');
    expect((bad as unknown as { issue: { code: string }[] }).issue[0].code).toBe('invalid');
    expectResult(good, true);
  });

  it('is 400 when a validation is not a Parameters resource', async () => {
    const res = await post([{ name: 'validation', resource: { resourceType: 'Basic' } }]);
    expect(res.status).toBe(400);
    expect(res.body.issue[0].expression).toEqual(['validation']);
  });
});
