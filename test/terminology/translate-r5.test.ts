import { describe, expect, it } from 'vitest';
import type { ParametersParameter } from '@medplum/fhirtypes';
import { BACKENDS } from '../support/backends.js';
import { FHIR_JSON, useServer } from '../support/server.js';

const SRC = 'http://forlop.test/CodeSystem/r5-source';
const TGT = 'http://forlop.test/CodeSystem/r5-target';
/** A ConceptMap in R5 form: `relationship` instead of R4's `equivalence`. */
const MAP = {
  resourceType: 'ConceptMap',
  url: 'http://forlop.test/ConceptMap/r5',
  version: '1.0.0',
  status: 'active',
  group: [
    {
      source: SRC,
      target: TGT,
      element: [
        { code: 'a', target: [{ code: 'A', relationship: 'equivalent' }] },
        { code: 'b', target: [{ code: 'B', relationship: 'source-is-narrower-than-target' }] },
      ],
    },
  ],
};
const part = (match: ParametersParameter, name: string) => match.part?.find((p) => p.name === name);

describe.each(BACKENDS)('$translate in R5 form ($name)', (backend) => {
  const t = useServer(backend);
  const post = (parameter: unknown[]) =>
    t
      .http()
      .post('/fhir/ConceptMap/$translate')
      .set('Content-Type', FHIR_JSON)
      .send({ resourceType: 'Parameters', parameter: [...parameter, { name: 'tx-resource', resource: MAP }] });
  const matches = (body: { parameter: ParametersParameter[] }) => body.parameter.filter((p) => p.name === 'match');

  it('sourceCode + sourceSystem translates forward; the map is named originMap', async () => {
    const res = await post([
      { name: 'sourceSystem', valueUri: SRC },
      { name: 'sourceCode', valueCode: 'b' },
      { name: 'targetSystem', valueUri: TGT },
    ]);
    expect(res.status).toBe(200);
    expect(res.body.parameter).toContainEqual({ name: 'result', valueBoolean: true });
    const [m] = matches(res.body);
    expect(part(m, 'concept')?.valueCoding).toEqual({ system: TGT, code: 'B' });
    expect(part(m, 'equivalence')?.valueCode).toBe('wider'); // R5 source-is-narrower-than-target
    expect(part(m, 'originMap')?.valueCanonical).toBe('http://forlop.test/ConceptMap/r5|1.0.0');
    expect(part(m, 'source')).toBeUndefined();
  });

  it('sourceCoding works like sourceCode + sourceSystem', async () => {
    const res = await post([{ name: 'sourceCoding', valueCoding: { system: SRC, code: 'a' } }]);
    expect(part(matches(res.body)[0], 'concept')?.valueCoding).toEqual({ system: TGT, code: 'A' });
  });

  it('targetCode translates backwards: the code asked about is concept, the one found is source', async () => {
    const res = await post([
      { name: 'sourceSystem', valueUri: SRC },
      { name: 'targetCode', valueCode: 'A' },
      { name: 'targetSystem', valueUri: TGT },
    ]);
    expect(res.status).toBe(200);
    const [m] = matches(res.body);
    expect(part(m, 'concept')?.valueCoding).toEqual({ system: TGT, code: 'A' });
    expect(part(m, 'source')?.valueCoding).toEqual({ system: SRC, code: 'a' });
    expect(part(m, 'equivalence')?.valueCode).toBe('equivalent');
  });

  it('an R4 request keeps the R4 answer (source is the map); no code at all is a 400', async () => {
    const r4 = await post([{ name: 'coding', valueCoding: { system: SRC, code: 'a' } }]);
    expect(part(matches(r4.body)[0], 'source')?.valueUri).toBe('http://forlop.test/ConceptMap/r5|1.0.0');
    const none = await post([{ name: 'sourceSystem', valueUri: SRC }]);
    expect(none.status).toBe(400);
    expect(none.body.issue[0].expression).toEqual(['code']);
  });
});
