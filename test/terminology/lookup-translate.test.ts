import { describe, expect, it } from 'vitest';
import type { Parameters, ParametersParameter } from '@medplum/fhirtypes';
import { loadTerminology } from '../../src/terminology/loader.js';
import { BACKENDS } from '../support/backends.js';
import { FHIR_JSON, useFixtures, useServer } from '../support/server.js';
import { CONDITIONS, CS, FORLOP, OID, param, TEST_CS, useTerminology } from './support.js';

const parts = (p: ParametersParameter) =>
  Object.fromEntries(
    (p.part ?? []).map((x) => [x.name, x.valueCode ?? x.valueString ?? x.valueBoolean ?? x.valueCoding ?? x.valueUri]),
  );
const all = (p: Parameters, name: string) => (p.parameter ?? []).filter((x) => x.name === name);

describe.each(BACKENDS)('terminology operations ($name)', (backend) => {
  const t = useServer(backend);
  useTerminology(t);
  useFixtures(t, () => [CONDITIONS]);
  const get = (path: string, query: Record<string, string>) => t.http().get(`/fhir/${path}`).query(query);
  const post = (path: string, parameter: unknown[]) =>
    t.http().post(`/fhir/${path}`).set('Content-Type', FHIR_JSON).send({ resourceType: 'Parameters', parameter });

  describe('start-up loading', () => {
    it('ships the pathway code systems with the OID identity and a canonical url of ours', async () => {
      const res = await get('CodeSystem', { identifier: `urn:ietf:rfc:3986|${OID('9322')}` });
      expect(res.body.total).toBe(1);
      expect(res.body.entry[0].resource).toMatchObject({ url: CS('9322'), language: 'nb', content: 'complete' });
      for (const n of ['9321', '9322', '9323', '9324', '9325', '9326', '9327', '9328', '9329', '3402', '8327']) {
        expect((await get(`CodeSystem/volven-${n}`, {})).status, n).toBe(200);
      }
      expect((await get('ConceptMap', { url: `${FORLOP}/ConceptMap/revision-2023-general-pathways` })).body.total).toBe(
        1,
      );
    });

    it('is idempotent by canonical url and version: a second load changes nothing', async () => {
      const before = await get('CodeSystem/volven-9321/_history', {});
      const report = await loadTerminology(t.services);
      expect(report.created + report.updated).toBe(0);
      expect(report.unchanged).toBeGreaterThan(70);
      expect((await get('CodeSystem/volven-9321/_history', {})).body.total).toBe(before.body.total);
    });

    it('a changed stored copy is put back to the shipped content (one new version)', async () => {
      const cs = (await get('CodeSystem/volven-9324', {})).body;
      cs.title = 'edited';
      await t.http().put('/fhir/CodeSystem/volven-9324').set('Content-Type', FHIR_JSON).send(cs).expect(200);
      const report = await loadTerminology(t.services);
      expect(report.updated).toBe(1);
      const after = (await get('CodeSystem/volven-9324', {})).body;
      expect(after.title).not.toBe('edited');
      expect(after.meta.versionId).toBe('3');
    });
  });

  describe('$lookup', () => {
    it('display, name, version, designations (en, legacy and current names) and properties', async () => {
      const res = await get('CodeSystem/$lookup', { system: CS('9327'), code: 'D11CU' });
      expect(res.status).toBe(200);
      expect(param(res.body, 'display')?.valueString).toBe('PHV-V beslutning utvidet utredning');
      expect(param(res.body, 'name')?.valueString).toBe('Volven9327');
      expect(param(res.body, 'version')?.valueString).toBe('2024-12-06');
      const props = all(res.body, 'property').map(parts);
      expect(props).toContainEqual({ code: 'type', value: 'D11' });
      expect(props).toContainEqual({ code: 'event', value: 'C' });
      expect(props).toContainEqual({ code: 'outcome', value: { system: CS('9323'), code: 'U' } });
      const start = await get('CodeSystem/$lookup', { system: OID('9322'), code: 'A' });
      const designations = all(start.body, 'designation').map(parts);
      expect(designations).toContainEqual(expect.objectContaining({ language: 'en', value: 'Pathway start' }));
      expect(designations).toContainEqual(
        expect.objectContaining({ language: 'nb', value: 'Nasjonalt pasientforløp start' }),
      );
      expect(designations).toContainEqual(expect.objectContaining({ language: 'nb', value: 'Pakkeforløp start' }));
    });

    it('hierarchy properties, `property` to choose, displayLanguage, POST with a coding, instance level', async () => {
      const res = await post('CodeSystem/$lookup', [
        { name: 'coding', valueCoding: { system: TEST_CS, code: 'psychosis' } },
        { name: 'property', valueCode: 'parent' },
        { name: 'property', valueCode: 'child' },
      ]);
      const props = all(res.body, 'property').map(parts);
      expect(props).toEqual([
        { code: 'parent', value: 'mental', description: 'Mental disorder' },
        { code: 'child', value: 'schizophrenia', description: 'Schizophrenia' },
      ]);
      const nb = await get('CodeSystem/conditions/$lookup', { code: 'psychosis', displayLanguage: 'nb' });
      expect(param(nb.body, 'display')?.valueString).toBe('Psykoselidelse');
      expect(param(nb.body, 'definition')?.valueString).toContain('reality');
    });

    it.each([
      ['an unknown code', { system: CS('9322'), code: 'Q' }, 404, ['code']],
      ['an unknown system', { system: 'http://example.org/none', code: 'Q' }, 404, ['system']],
      ['no system', { code: 'Q' }, 400, ['system']],
      ['no code', { system: CS('9322') }, 400, ['code']],
    ])('%s gives an OperationOutcome naming the parameter', async (_name, query, status, expression) => {
      const res = await get('CodeSystem/$lookup', query);
      expect(res.status).toBe(status);
      expect(res.body.issue[0].expression).toEqual(expression);
    });
  });

  describe('$subsumes', () => {
    it.each([
      ['mental', 'schizophrenia', 'subsumes'],
      ['schizophrenia', 'mental', 'subsumed-by'],
      ['eating', 'eating', 'equivalent'],
      ['mental', 'eating', 'subsumes'],
      ['psychosis', 'ocd', 'not-subsumed'],
    ])('%s vs %s: %s', async (codeA, codeB, outcome) => {
      const res = await get('CodeSystem/$subsumes', { system: TEST_CS, codeA, codeB });
      expect(param(res.body, 'outcome')?.valueCode).toBe(outcome);
    });

    it('codings, instance level, and errors', async () => {
      const res = await post('CodeSystem/conditions/$subsumes', [
        { name: 'codingA', valueCoding: { system: TEST_CS, code: 'psychosis' } },
        { name: 'codingB', valueCoding: { system: TEST_CS, code: 'schizophrenia' } },
      ]);
      expect(param(res.body, 'outcome')?.valueCode).toBe('subsumes');
      const unknown = await get('CodeSystem/$subsumes', { system: TEST_CS, codeA: 'mental', codeB: 'nope' });
      expect(unknown.status).toBe(404);
      expect(unknown.body.issue[0].expression).toEqual(['codeB']);
      const mixed = await post('CodeSystem/$subsumes', [
        { name: 'codingA', valueCoding: { system: TEST_CS, code: 'mental' } },
        { name: 'codingB', valueCoding: { system: CS('9321'), code: 'D11' } },
      ]);
      expect(mixed.status).toBe(400);
    });
  });

  describe('$translate', () => {
    const DECOMPOSITION = `${FORLOP}/ConceptMap/pathway-code-decomposition`;
    const REVISION = `${FORLOP}/ConceptMap/revision-2023-general-pathways`;

    it('splits a combined code into type (target), event and outcome (products)', async () => {
      const res = await get('ConceptMap/$translate', { url: DECOMPOSITION, system: CS('9327'), code: 'D07UE' });
      expect(param(res.body, 'result')?.valueBoolean).toBe(true);
      const match = all(res.body, 'match')[0];
      expect(match.part?.find((p) => p.name === 'equivalence')?.valueCode).toBe('wider');
      expect(match.part?.find((p) => p.name === 'concept')?.valueCoding).toMatchObject({
        system: CS('9321'),
        code: 'D07',
      });
      const products = match.part?.filter((p) => p.name === 'product').map((p) => parts(p).concept);
      expect(products).toEqual([
        expect.objectContaining({ system: CS('9322'), code: 'U' }),
        expect.objectContaining({ system: CS('9325'), code: 'E' }),
      ]);
    });

    it('without a map url, every map with the coding’s system as source is used; reverse goes back', async () => {
      const res = await post('ConceptMap/$translate', [
        { name: 'coding', valueCoding: { system: CS('9321'), code: 'D11' } },
        { name: 'reverse', valueBoolean: true },
      ]);
      const sources = all(res.body, 'match').map((m) => parts(m).concept as { code: string });
      expect(sources.map((s) => s.code)).toContain('D11CU');
      expect(sources.map((s) => s.code)).toContain('D11'); // the 2023 revision maps D11 to itself
      const forward = await get('ConceptMap/$translate', { system: CS('9327'), code: 'D12A' });
      expect(param(forward.body, 'result')?.valueBoolean).toBe(true);
    });

    it('the 2023 revision: types equivalent, the start event inexact, unverified codes unmatched', async () => {
      const type = await get('ConceptMap/$translate', { url: REVISION, system: CS('9321'), code: 'D11' });
      expect(parts(all(type.body, 'match')[0]).equivalence).toBe('equivalent');
      const start = await get('ConceptMap/$translate', { url: REVISION, system: CS('9322'), code: 'A' });
      expect(parts(all(start.body, 'match')[0]).equivalence).toBe('inexact');
      const unknown = await get('ConceptMap/$translate', { url: REVISION, system: CS('9322'), code: 'F' });
      expect(param(unknown.body, 'result')?.valueBoolean).toBe(false);
      expect(parts(all(unknown.body, 'match')[0]).equivalence).toBe('unmatched');
      expect(param(unknown.body, 'message')?.valueString).toContain('No translations');
    });

    it('errors: unknown map 404, no code 400', async () => {
      expect(
        (await get('ConceptMap/$translate', { url: 'http://example.org/cm', system: CS('9321'), code: 'D11' })).status,
      ).toBe(404);
      const res = await get('ConceptMap/$translate', { url: DECOMPOSITION, system: CS('9327') });
      expect(res.status).toBe(400);
      expect(res.body.issue[0].expression).toEqual(['code']);
    });
  });

  describe('capabilities', () => {
    it('GET /metadata?mode=terminology is a TerminologyCapabilities', async () => {
      const res = await get('metadata', { mode: 'terminology' });
      expect(res.status).toBe(200);
      expect(res.body.resourceType).toBe('TerminologyCapabilities');
      expect(res.body.expansion.parameter.map((p: { name: string }) => p.name)).toEqual(
        expect.arrayContaining(['filter', 'count', 'offset', 'displayLanguage', 'activeOnly', 'tx-resource']),
      );
      expect(res.body.expansion.parameter.map((p: { name: string }) => p.name)).toEqual(
        expect.arrayContaining(['property', 'useSupplement', 'default-valueset-version']),
      );
      expect(res.body).toMatchObject({ name: 'ForlopTerminologyCapabilities', version: expect.any(String) });
      expect((await get('metadata', { mode: 'bogus' })).status).toBe(400);
    });

    it('the CapabilityStatement lists every terminology operation on its type', async () => {
      const res = await get('metadata', {});
      const ops = (type: string) =>
        res.body.rest[0].resource
          .find((r: { type: string }) => r.type === type)
          .operation.map((o: { name: string; definition: string }) => `${o.name} ${o.definition}`);
      expect(ops('ValueSet')).toEqual(
        expect.arrayContaining([
          'expand http://hl7.org/fhir/OperationDefinition/ValueSet-expand',
          'validate-code http://hl7.org/fhir/OperationDefinition/ValueSet-validate-code',
        ]),
      );
      expect(ops('CodeSystem')).toEqual(
        expect.arrayContaining([
          'lookup http://hl7.org/fhir/OperationDefinition/CodeSystem-lookup',
          'subsumes http://hl7.org/fhir/OperationDefinition/CodeSystem-subsumes',
          'validate-code http://hl7.org/fhir/OperationDefinition/CodeSystem-validate-code',
        ]),
      );
      expect(ops('ConceptMap')).toContain('translate http://hl7.org/fhir/OperationDefinition/ConceptMap-translate');
      expect(ops('ConceptMap').filter((o: string) => /expand|lookup/.test(o))).toEqual([]);
      expect(ops('Patient')).not.toContain('expand http://hl7.org/fhir/OperationDefinition/ValueSet-expand');
    });

    it('an operation on the wrong type is 404 not-supported', async () => {
      const res = await get('Patient/$expand', {});
      expect(res.status).toBe(404);
      expect(res.body.issue[0].code).toBe('not-supported');
    });
  });
});
