import { describe, expect, it } from 'vitest';
import type { ValueSet } from '@medplum/fhirtypes';
import { BACKENDS } from '../support/backends.js';
import { FHIR_JSON, useServer } from '../support/server.js';
import { CONDITIONS } from './support.js';

const SD = 'http://hl7.org/fhir/StructureDefinition/';
const FRAGMENT = {
  ...CONDITIONS,
  id: undefined,
  url: 'http://forlop.test/CodeSystem/fragment',
  version: '0.3.0',
  content: 'fragment',
  concept: [
    { code: 'a', display: 'A' },
    { code: 'b', display: 'B' },
  ],
};
const inline = (compose: ValueSet['compose']): ValueSet => ({
  resourceType: 'ValueSet',
  status: 'active',
  url: 'http://forlop.test/ValueSet/marks',
  compose,
});

/** What an expansion says about its codes beyond the list: unclosed fragments, codes marked deprecated. */
describe.each(BACKENDS)('$expand marks ($name)', (backend) => {
  const t = useServer(backend);
  const post = (parameter: unknown[]) =>
    t
      .http()
      .post('/fhir/ValueSet/$expand')
      .set('Content-Type', FHIR_JSON)
      .send({ resourceType: 'Parameters', parameter });

  it('an expansion from a fragment code system is unclosed, with the reason and used-fragment', async () => {
    const res = await post([
      { name: 'valueSet', resource: inline({ include: [{ system: FRAGMENT.url }] }) },
      { name: 'tx-resource', resource: FRAGMENT },
    ]);
    expect(res.status).toBe(200);
    expect(res.body.expansion.extension).toEqual([
      { url: `${SD}valueset-unclosed`, valueBoolean: true },
      {
        url: `${SD}valueset-unclosed-reason`,
        valueString: `This extension is based on a fragment of the code system ${FRAGMENT.url}`,
      },
    ]);
    expect(res.body.expansion.parameter).toContainEqual({
      name: 'used-fragment',
      valueUri: `${FRAGMENT.url}|0.3.0`,
    });
  });

  it('a complete code system gives a closed expansion, without used-fragment', async () => {
    const complete = { ...FRAGMENT, content: 'complete' };
    const res = await post([
      { name: 'valueSet', resource: inline({ include: [{ system: FRAGMENT.url }] }) },
      { name: 'tx-resource', resource: complete },
    ]);
    expect(res.status).toBe(200);
    expect(res.body.expansion.extension).toBeUndefined();
    expect(res.body.expansion.parameter.map((p: { name: string }) => p.name)).not.toContain('used-fragment');
  });

  it('a code the value set marks deprecated (standards-status) keeps the mark in the expansion', async () => {
    const status = { url: `${SD}structuredefinition-standards-status`, valueCode: 'deprecated' };
    const res = await post([
      {
        name: 'valueSet',
        resource: inline({
          include: [{ system: FRAGMENT.url, concept: [{ code: 'a' }, { code: 'b', extension: [status] }] }],
        }),
      },
      { name: 'tx-resource', resource: FRAGMENT },
    ]);
    expect(res.status).toBe(200);
    const [a, b] = res.body.expansion.contains;
    expect(a.extension).toBeUndefined();
    expect(b).toMatchObject({ code: 'b', extension: [status] });
  });
});
