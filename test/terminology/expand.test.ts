import { describe, expect, it } from 'vitest';
import type { ValueSet, ValueSetExpansionContains } from '@medplum/fhirtypes';
import { BACKENDS } from '../support/backends.js';
import { FHIR_JSON, useFixtures, useServer } from '../support/server.js';
import { CONDITIONS, CS, TEST_CS, useTerminology, VS } from './support.js';

const codes = (vs: ValueSet) => (vs.expansion?.contains ?? []).map((c) => c.code);
const flat = (list: ValueSetExpansionContains[] = []): ValueSetExpansionContains[] =>
  list.flatMap((c) => [c, ...flat(c.contains)]);
const inline = (compose: ValueSet['compose'], extra: Partial<ValueSet> = {}): ValueSet => ({
  resourceType: 'ValueSet',
  status: 'active',
  url: 'http://forlop.test/ValueSet/inline',
  compose,
  ...extra,
});

describe.each(BACKENDS)('ValueSet/$expand ($name)', (backend) => {
  const t = useServer(backend, { terminology: { maxExpansionSize: 300 } });
  useTerminology(t);
  useFixtures(t, () => [
    CONDITIONS,
    {
      resourceType: 'ValueSet',
      id: 'severe',
      url: 'http://forlop.test/ValueSet/severe',
      status: 'active',
      compose: { include: [{ system: TEST_CS, filter: [{ property: 'severity', op: '=', value: 'high' }] }] },
    },
  ]);
  const expand = (query: Record<string, string>, path = 'ValueSet/$expand') =>
    t.http().get(`/fhir/${path}`).query(query);
  const post = (parameter: unknown[]) =>
    t
      .http()
      .post('/fhir/ValueSet/$expand')
      .set('Content-Type', FHIR_JSON)
      .send({ resourceType: 'Parameters', parameter });

  it('a whole code system, with total, used-codesystem and the value set metadata', async () => {
    const res = await expand({ url: VS('pathway-types') });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      resourceType: 'ValueSet',
      url: VS('pathway-types'),
      version: '2024-12-06',
      expansion: { total: 8 },
    });
    expect(codes(res.body)).toEqual(['D01', 'D06', 'D07', 'D08', 'D09', 'D10', 'D11', 'D12']);
    expect(res.body.expansion.parameter).toContainEqual({
      name: 'used-codesystem',
      valueUri: `${CS('9321')}|2024-12-06`,
    });
    expect(res.body.expansion.identifier).toMatch(/^urn:uuid:/);
    expect(res.body.compose).toBeUndefined();
  });

  it('a property filter (=) selects the pathway’s combined codes', async () => {
    const res = await expand({ url: VS('pathway-D07-codes') });
    const got = codes(res.body);
    expect(got).toContain('D07UE');
    expect(got).toContain('D07T');
    expect(got.every((c) => c?.startsWith('D07'))).toBe(true);
    expect(res.body.expansion.total).toBe(got.length);
  });

  it('a concept list, in the order given', async () => {
    const res = await expand({ url: VS('pathway-D01-events') });
    expect(codes(res.body)).toEqual(['A', 'C', 'D', 'E', 'F', 'H', 'L', 'M', 'S', 'U', 'X']);
  });

  it.each([
    ['is-a', 'psychosis', ['psychosis', 'schizophrenia']],
    ['descendent-of', 'mental', ['psychosis', 'schizophrenia', 'ocd', 'eating']],
    ['is-not-a', 'mental', ['substance', 'old-neurosis']],
    ['child-of', 'mental', ['psychosis', 'ocd', 'eating']],
    ['generalizes', 'schizophrenia', ['mental', 'psychosis', 'schizophrenia']],
    ['in', 'ocd,eating,nope', ['ocd', 'eating']],
  ])('hierarchy filter %s %s (nesting and the parent property both count)', async (op, value, expected) => {
    const res = await post([
      {
        name: 'valueSet',
        resource: inline({
          include: [{ system: TEST_CS, filter: [{ property: 'concept', op: op as 'is-a', value }] }],
        }),
      },
    ]);
    expect(res.status).toBe(200);
    expect(codes(res.body).sort()).toEqual([...expected].sort());
  });

  it.each([
    ['=', 'severity', 'medium', ['ocd']],
    ['regex', 'code', '.*o.*s.*', ['psychosis', 'old-neurosis']],
    ['regex', 'display', 'Eat.*', ['eating']],
    ['exists', 'severity', 'false', ['mental', 'substance', 'old-neurosis']],
    ['in', 'severity', 'medium,low', ['ocd']],
  ])('property filter %s on %s', async (op, property, value, expected) => {
    const res = await post([
      {
        name: 'valueSet',
        resource: inline({ include: [{ system: TEST_CS, filter: [{ property, op: op as 'is-a', value }] }] }),
      },
    ]);
    expect(codes(res.body).sort()).toEqual([...expected].sort());
  });

  it('imports and excludes: other value sets, intersections, excluded concepts and filters', async () => {
    const res = await post([
      {
        name: 'valueSet',
        resource: inline({
          include: [
            { valueSet: ['http://forlop.test/ValueSet/severe'] },
            { system: TEST_CS, concept: [{ code: 'substance' }] },
          ],
          exclude: [{ system: TEST_CS, concept: [{ code: 'eating' }] }],
        }),
      },
    ]);
    expect(codes(res.body).sort()).toEqual(['psychosis', 'schizophrenia', 'substance']);
    expect(res.body.expansion.parameter).toContainEqual({
      name: 'used-valueset',
      valueUri: 'http://forlop.test/ValueSet/severe',
    });
    const both = await post([
      {
        name: 'valueSet',
        resource: inline({
          include: [
            {
              system: TEST_CS,
              filter: [{ property: 'concept', op: 'is-a', value: 'psychosis' }],
              valueSet: ['http://forlop.test/ValueSet/severe'],
            },
          ],
        }),
      },
    ]);
    expect(codes(both.body).sort()).toEqual(['psychosis', 'schizophrenia']);
  });

  it('a notSelectable = false filter takes only codes that state it; a notSelectable code is abstract', async () => {
    const states = {
      ...CONDITIONS,
      id: undefined,
      url: 'http://forlop.test/CodeSystem/selectable',
      // coded notSelectable, defined with another uri: still what the code means
      property: [{ code: 'notSelectable', uri: 'http://example.org/props#selectable', type: 'boolean' }],
      concept: [
        { code: 'unstated', display: 'Unstated' },
        { code: 'yes', display: 'Yes', property: [{ code: 'notSelectable', valueBoolean: false }] },
        { code: 'no', display: 'No', property: [{ code: 'notSelectable', valueBoolean: true }] },
      ],
    };
    const run = (value: string) =>
      post([
        {
          name: 'valueSet',
          resource: inline({
            include: [{ system: states.url, filter: [{ property: 'notSelectable', op: '=', value }] }],
          }),
        },
        { name: 'tx-resource', resource: states },
      ]);
    expect(codes((await run('false')).body)).toEqual(['yes']);
    const abstract = await run('true');
    expect(abstract.body.expansion.contains).toEqual([expect.objectContaining({ code: 'no', abstract: true })]);
  });

  it('inactive and notSelectable codes are flagged; activeOnly leaves inactive ones out', async () => {
    const all = await expand({ url: TEST_CS.replace('CodeSystem', 'ValueSet'), valueSetVersion: 'x' }).catch(
      () => undefined,
    );
    expect(all?.status).toBe(404);
    const res = await post([{ name: 'valueSet', resource: inline({ include: [{ system: TEST_CS }] }) }]);
    const byCode = new Map(flat(res.body.expansion.contains).map((c) => [c.code, c]));
    expect(byCode.get('old-neurosis')?.inactive).toBe(true);
    expect(byCode.get('mental')?.abstract).toBe(true);
    const active = await post([
      { name: 'valueSet', resource: inline({ include: [{ system: TEST_CS }] }) },
      { name: 'activeOnly', valueBoolean: true },
    ]);
    expect(codes(active.body)).not.toContain('old-neurosis');
    expect(active.body.expansion.total).toBe(6);
  });

  it('excludeNested=false shows the hierarchy of a whole code system', async () => {
    const res = await post([
      { name: 'valueSet', resource: inline({ include: [{ system: TEST_CS }] }) },
      { name: 'excludeNested', valueBoolean: false },
    ]);
    const mental = res.body.expansion.contains.find((c: ValueSetExpansionContains) => c.code === 'mental');
    expect(mental.contains.map((c: ValueSetExpansionContains) => c.code).sort()).toEqual([
      'eating',
      'ocd',
      'psychosis',
    ]);
    expect(res.body.expansion.total).toBe(7);
  });

  it('excludeNested=false keeps the hierarchy among the codes an is-a filter selects', async () => {
    const filtered = inline({
      include: [{ system: TEST_CS, filter: [{ property: 'concept', op: 'is-a', value: 'psychosis' }] }],
    });
    const res = await post([
      { name: 'valueSet', resource: filtered },
      { name: 'excludeNested', valueBoolean: false },
    ]);
    expect(codes(res.body)).toEqual(['psychosis']);
    expect(res.body.expansion.contains[0].contains.map((c: ValueSetExpansionContains) => c.code)).toEqual([
      'schizophrenia',
    ]);
    expect(res.body.expansion.total).toBe(2);
  });

  it('text filter (accent- and case-insensitive word starts, or part of the code)', async () => {
    const res = await expand({ url: VS('kommunenummer'), filter: 'tromso' });
    expect(res.body.expansion.contains.map((c: ValueSetExpansionContains) => c.display)).toEqual(['Tromsø']);
    const code = await expand({ url: VS('pathway-codes'), filter: 'D07UE' });
    expect(codes(code.body)).toEqual(['D07UE']);
    expect(code.body.expansion.parameter).toContainEqual({ name: 'filter', valueString: 'D07UE' });
  });

  it('count and offset page through the expansion; total stays the whole', async () => {
    const first = await expand({ url: VS('kommunenummer'), count: '10' });
    const second = await expand({ url: VS('kommunenummer'), count: '10', offset: '10' });
    expect(first.body.expansion.total).toBe(390);
    expect(codes(first.body)).toHaveLength(10);
    expect(second.body.expansion.offset).toBe(10);
    expect(codes(second.body)[0]).not.toBe(codes(first.body)[0]);
    const zero = await expand({ url: VS('kommunenummer'), count: '0' });
    expect(zero.body.expansion.contains).toBeUndefined();
    expect(zero.body.expansion.total).toBe(390);
  });

  it('a translated display: its designation is not repeated, the original display is given instead', async () => {
    const res = await post([
      { name: 'valueSet', resource: inline({ include: [{ system: TEST_CS, concept: [{ code: 'ocd' }] }] }) },
      { name: 'includeDesignations', valueBoolean: true },
      { name: 'displayLanguage', valueCode: 'nb' },
    ]);
    expect(res.body.expansion.contains[0].display).toBe('Tvangslidelse');
    expect(res.body.expansion.contains[0].designation).toEqual([
      {
        language: 'en',
        use: {
          system: 'http://terminology.hl7.org/CodeSystem/hl7TermMaintInfra',
          code: 'preferredForLanguage',
          display: 'Preferred For Language',
        },
        value: 'Obsessive-compulsive disorder',
      },
    ]);
  });

  it('a language list refusing the others (*; q=0): no display where the language has none', async () => {
    const vs = inline({ include: [{ system: TEST_CS, concept: [{ code: 'ocd' }, { code: 'substance' }] }] });
    const res = await post([
      { name: 'valueSet', resource: vs },
      { name: 'displayLanguage', valueCode: 'nb,*;q=0' },
      { name: 'includeDesignations', valueBoolean: true },
    ]);
    const [ocd, substance] = res.body.expansion.contains;
    expect(ocd.display).toBe('Tvangslidelse');
    expect(substance.display).toBeUndefined();
    // the code system's own display is still there, as the preferred text in its language
    expect(substance.designation).toEqual([
      expect.objectContaining({ language: 'en', value: 'Substance use disorder' }),
    ]);
    expect(res.body.expansion.parameter).toContainEqual({ name: 'displayLanguage', valueCode: 'nb, *; q=0' });
    const soft = await post([
      { name: 'valueSet', resource: vs },
      { name: 'displayLanguage', valueCode: 'nb,*' },
    ]);
    expect(soft.body.expansion.contains[1].display).toBe('Substance use disorder');
  });

  it('designation picks the designations shown, by language or use, and is echoed', async () => {
    const res = await post([
      { name: 'valueSet', resource: inline({ include: [{ system: TEST_CS, concept: [{ code: 'ocd' }] }] }) },
      { name: 'includeDesignations', valueBoolean: true },
      { name: 'designation', valueString: 'urn:ietf:bcp:47|de' },
    ]);
    expect(res.body.expansion.contains[0].designation).toBeUndefined();
    const nb = await post([
      { name: 'valueSet', resource: inline({ include: [{ system: TEST_CS, concept: [{ code: 'ocd' }] }] }) },
      { name: 'includeDesignations', valueBoolean: true },
      { name: 'designation', valueString: 'urn:ietf:bcp:47|nb' },
    ]);
    expect(nb.body.expansion.contains[0].designation).toEqual([{ language: 'nb', value: 'Tvangslidelse' }]);
    expect(nb.body.expansion.parameter).toContainEqual({ name: 'designation', valueString: 'urn:ietf:bcp:47|nb' });
  });

  it('includeDesignations and displayLanguage (nb, en; nn falls back to the nb display)', async () => {
    const res = await expand({ url: VS('event-X-outcomes'), includeDesignations: 'true' });
    const g = res.body.expansion.contains.find((c: ValueSetExpansionContains) => c.code === 'G');
    expect(g.display).toBe('Avslutning av gjennomført pakkeforløp');
    expect(g.designation).toContainEqual(
      expect.objectContaining({ language: 'en', value: 'Ended after a completed pathway' }),
    );
    expect(g.designation).toContainEqual(
      expect.objectContaining({
        language: 'nb',
        value: 'Avslutning av gjennomført pasientforløp',
        use: expect.objectContaining({ code: 'current-name' }),
      }),
    );
    const en = await expand({ url: VS('event-X-outcomes'), displayLanguage: 'en' });
    expect(en.body.expansion.contains.find((c: ValueSetExpansionContains) => c.code === 'G').display).toBe(
      'Ended after a completed pathway',
    );
    const header = await t
      .http()
      .get('/fhir/ValueSet/$expand')
      .query({ url: VS('event-X-outcomes') })
      .set('Accept-Language', 'en;q=0.8, nb');
    expect(header.body.expansion.contains.find((c: ValueSetExpansionContains) => c.code === 'G').display).toBe(
      'Avslutning av gjennomført pakkeforløp',
    );
    const nn = await expand({ url: VS('event-X-outcomes'), displayLanguage: 'nn' });
    expect(nn.body.expansion.contains.find((c: ValueSetExpansionContains) => c.code === 'G').display).toBe(
      'Avslutning av gjennomført pakkeforløp',
    );
  });

  it('includeDefinition repeats the value set definition beside the expansion (R4 $expand)', async () => {
    const compose = { include: [{ system: TEST_CS, concept: [{ code: 'psychosis' }] }] };
    const described = inline(compose, { description: 'Psychoses only' });
    const res = await post([
      { name: 'valueSet', resource: described },
      { name: 'includeDefinition', valueBoolean: true },
    ]);
    expect(res.body.compose).toEqual(compose);
    expect(res.body.description).toBe('Psychoses only');
    expect(codes(res.body)).toEqual(['psychosis']);
    const without = await post([{ name: 'valueSet', resource: described }]);
    expect(without.body.compose).toBeUndefined();
    expect(without.body.description).toBeUndefined();
  });

  it('a contained value set imported is part of the importer, not named as another one used', async () => {
    const part = inline({ include: [{ system: TEST_CS, concept: [{ code: 'ocd' }] }] }, { id: 'part', url: undefined });
    const res = await post([
      { name: 'valueSet', resource: inline({ include: [{ valueSet: ['#part'] }] }, { contained: [part] }) },
    ]);
    expect(codes(res.body)).toEqual(['ocd']);
    expect(res.body.expansion.parameter.map((p: { name: string }) => p.name)).not.toContain('used-valueset');
  });

  it('takes the expansion parameters a value set states (valueset-expansion-parameter), the request winning', async () => {
    const compose = {
      extension: [
        {
          url: 'http://hl7.org/fhir/StructureDefinition/valueset-expansion-parameter',
          extension: [
            { url: 'name', valueCode: 'displayLanguage' },
            { url: 'value', valueCode: 'nb' },
          ],
        },
      ],
      include: [{ system: TEST_CS, concept: [{ code: 'ocd' }] }],
    };
    const res = await post([{ name: 'valueSet', resource: inline(compose) }]);
    expect(res.body.expansion.contains[0].display).toBe('Tvangslidelse');
    expect(res.body.expansion.parameter).toContainEqual({ name: 'displayLanguage', valueCode: 'nb' });
    const asked = await post([
      { name: 'valueSet', resource: inline(compose) },
      { name: 'displayLanguage', valueCode: 'en' },
    ]);
    expect(asked.body.expansion.contains[0].display).toBe('Obsessive-compulsive disorder');
  });

  it('property shows concept properties per code and declares them (R5 expansion.property)', async () => {
    const res = await post([
      { name: 'valueSet', resource: inline({ include: [{ system: TEST_CS, concept: [{ code: 'psychosis' }] }] }) },
      { name: 'property', valueString: 'severity' },
      { name: 'property', valueString: 'definition' },
    ]);
    expect(res.body.expansion.contains[0].property).toEqual([
      { code: 'severity', valueCode: 'high' },
      { code: 'definition', valueString: 'A disorder with loss of contact with reality' },
    ]);
    expect(res.body.expansion.property).toEqual([
      { code: 'severity' },
      { code: 'definition', uri: 'http://hl7.org/fhir/concept-properties#definition' },
    ]);
  });

  it('a retired code carries its status, and ordering extensions become properties', async () => {
    const ordered = {
      ...CONDITIONS,
      id: undefined,
      url: 'http://forlop.test/CodeSystem/ordered',
      concept: [
        {
          code: 'a',
          display: 'A',
          extension: [{ url: 'http://hl7.org/fhir/StructureDefinition/codesystem-conceptOrder', valueInteger: 2 }],
        },
        { code: 'b', display: 'B', property: [{ code: 'status', valueCode: 'retired' }] },
      ],
    };
    const res = await post([
      { name: 'valueSet', resource: inline({ include: [{ system: ordered.url }] }) },
      { name: 'tx-resource', resource: ordered },
    ]);
    const byCode = (code: string) =>
      res.body.expansion.contains.find((c: ValueSetExpansionContains) => c.code === code);
    expect(byCode('a').property).toEqual([{ code: 'order', valueDecimal: 2 }]);
    expect(byCode('b').property).toEqual([{ code: 'status', valueCode: 'retired' }]);
    expect(res.body.expansion.property).toContainEqual({
      code: 'status',
      uri: 'http://hl7.org/fhir/concept-properties#status',
    });
  });

  it("keeps a concept's rendering extensions and the value set's deprecation of a code", async () => {
    const style = { url: 'http://hl7.org/fhir/StructureDefinition/rendering-style', valueString: 'font-weight: bold' };
    const deprecated = { url: 'http://hl7.org/fhir/StructureDefinition/valueset-deprecated', valueBoolean: true };
    const styled = {
      ...CONDITIONS,
      id: undefined,
      url: 'http://forlop.test/CodeSystem/styled',
      concept: [{ code: 'a', display: 'A', extension: [style, { url: 'http://example.org/other', valueString: 'x' }] }],
    };
    const res = await post([
      {
        name: 'valueSet',
        resource: inline({ include: [{ system: styled.url, concept: [{ code: 'a', extension: [deprecated] }] }] }),
      },
      { name: 'tx-resource', resource: styled },
    ]);
    expect(res.body.expansion.contains[0].extension).toEqual([style, deprecated]);
  });

  it('default-valueset-version picks the version of a versionless import, and is echoed', async () => {
    const imported = (version: string, code: string): ValueSet =>
      inline(
        { include: [{ system: TEST_CS, concept: [{ code }] }] },
        { url: 'http://forlop.test/ValueSet/part', version },
      );
    const importer = inline({ include: [{ valueSet: ['http://forlop.test/ValueSet/part'] }] });
    const run = (version: string) =>
      post([
        { name: 'valueSet', resource: importer },
        { name: 'tx-resource', resource: imported('1.0.0', 'ocd') },
        { name: 'tx-resource', resource: imported('2.0.0', 'eating') },
        { name: 'default-valueset-version', valueUri: `http://forlop.test/ValueSet/part|${version}` },
      ]);
    const res = await run('1.0.0');
    expect(codes(res.body)).toEqual(['ocd']);
    expect(res.body.expansion.parameter).toContainEqual({
      name: 'default-valueset-version',
      valueUri: 'http://forlop.test/ValueSet/part|1.0.0',
    });
    const missing = await run('3.0.0');
    expect(missing.status).toBe(404);
    expect(missing.body.issue[0].details.text).toContain('http://forlop.test/ValueSet/part|3.0.0');
  });

  describe('code system versions', () => {
    const v2 = { ...CONDITIONS, id: undefined, version: '2.0.0', concept: [{ code: 'new-in-2', display: 'New in 2' }] };
    const versionless = inline({ include: [{ system: TEST_CS }] });
    const run = (parameter: unknown[]) =>
      post([{ name: 'valueSet', resource: versionless }, { name: 'tx-resource', resource: v2 }, ...parameter]);

    it('without a version the latest is used, and named in used-codesystem', async () => {
      const res = await run([]);
      expect(codes(res.body)).toEqual(['new-in-2']);
      expect(res.body.expansion.parameter).toContainEqual({ name: 'used-codesystem', valueUri: `${TEST_CS}|2.0.0` });
    });

    it('system-version picks the version a versionless include uses; force-system-version overrides a pinned one', async () => {
      const res = await run([{ name: 'system-version', valueUri: `${TEST_CS}|1.0.0` }]);
      expect(codes(res.body)).toContain('psychosis');
      expect(res.body.expansion.parameter).toContainEqual({ name: 'system-version', valueUri: `${TEST_CS}|1.0.0` });
      // a pinned include is not changed by system-version, so the parameter is not reported as used
      const unaffected = await post([
        { name: 'valueSet', resource: inline({ include: [{ system: TEST_CS, version: '2.0.0' }] }) },
        { name: 'tx-resource', resource: v2 },
        { name: 'system-version', valueUri: `${TEST_CS}|1.0.0` },
      ]);
      expect(codes(unaffected.body)).toEqual(['new-in-2']);
      expect(unaffected.body.expansion.parameter.map((p: { name: string }) => p.name)).not.toContain('system-version');
      const pinned = await post([
        { name: 'valueSet', resource: inline({ include: [{ system: TEST_CS, version: '2.0.0' }] }) },
        { name: 'tx-resource', resource: v2 },
        { name: 'force-system-version', valueUri: `${TEST_CS}|1.0.0` },
      ]);
      expect(codes(pinned.body)).toContain('psychosis');
      expect(pinned.body.expansion.parameter).toContainEqual({
        name: 'force-system-version',
        valueUri: `${TEST_CS}|1.0.0`,
      });
    });

    it('check-system-version picks for a versionless include and refuses a pinned one that does not match', async () => {
      const latest = await run([{ name: 'check-system-version', valueUri: `${TEST_CS}|2.x` }]);
      expect(codes(latest.body)).toEqual(['new-in-2']);
      const older = await run([{ name: 'check-system-version', valueUri: `${TEST_CS}|1.x` }]);
      expect(codes(older.body)).toContain('psychosis');
      expect(older.body.expansion.parameter).toContainEqual({ name: 'used-codesystem', valueUri: `${TEST_CS}|1.0.0` });
      expect(older.body.expansion.parameter).toContainEqual({
        name: 'check-system-version',
        valueUri: `${TEST_CS}|1.x`,
      });
      const res = await post([
        { name: 'valueSet', resource: inline({ include: [{ system: TEST_CS, version: '2.0.0' }] }) },
        { name: 'tx-resource', resource: v2 },
        { name: 'check-system-version', valueUri: `${TEST_CS}|1.x` },
      ]);
      expect(res.status).toBe(422);
      expect(res.body.issue[0].details.coding[0].code).toBe('version-error');
      // about the server's content, not an element: named in the text, with no expression
      expect(res.body.issue[0].details.text).toBe(
        `The version '2.0.0' is not allowed for system '${TEST_CS}': required to be '1.x' by a version-check parameter`,
      );
      expect(res.body.issue[0].expression).toBeUndefined();
    });

    it('a version sent with the request is used before a stored one, even one that sorts higher', async () => {
      const sent = { ...v2, version: '0.9.0', concept: [{ code: 'sent-only', display: 'Sent only' }] };
      const res = await post([
        { name: 'valueSet', resource: versionless },
        { name: 'tx-resource', resource: sent },
      ]);
      expect(codes(res.body)).toEqual(['sent-only']);
      expect(res.body.expansion.parameter).toContainEqual({ name: 'used-codesystem', valueUri: `${TEST_CS}|0.9.0` });
      // an include that names the stored version still gets it
      const pinned = await post([
        { name: 'valueSet', resource: inline({ include: [{ system: TEST_CS, version: '1.0.0' }] }) },
        { name: 'tx-resource', resource: sent },
      ]);
      expect(codes(pinned.body)).toContain('psychosis');
    });

    it('an unknown version is 404, naming the versions there are', async () => {
      const res = await post([
        { name: 'valueSet', resource: inline({ include: [{ system: TEST_CS, version: '9.9' }] }) },
      ]);
      expect(res.status).toBe(404);
      expect(res.body.issue[0].details.text).toContain('Valid versions: 1.0.0');
    });

    it('a version parameter that is not url|version is 400', async () => {
      const res = await run([{ name: 'system-version', valueUri: TEST_CS }]);
      expect(res.status).toBe(400);
      expect(res.body.issue[0].expression).toEqual(['system-version']);
    });
  });

  it('instance level, and a value set sent with tx-resource', async () => {
    const inst = await expand({}, 'ValueSet/pathway-D06-events/$expand');
    expect(codes(inst.body)).toContain('P');
    const res = await post([
      { name: 'url', valueUri: 'http://forlop.test/ValueSet/adhoc' },
      {
        name: 'tx-resource',
        resource: inline(
          { include: [{ system: 'http://forlop.test/CodeSystem/adhoc' }] },
          { url: 'http://forlop.test/ValueSet/adhoc' },
        ),
      },
      {
        name: 'tx-resource',
        resource: {
          resourceType: 'CodeSystem',
          url: 'http://forlop.test/CodeSystem/adhoc',
          status: 'active',
          content: 'complete',
          concept: [{ code: 'a' }, { code: 'b' }],
        },
      },
    ]);
    expect(codes(res.body)).toEqual(['a', 'b']);
  });

  it('sees a changed code system at once (caches are keyed by the terminology generation)', async () => {
    const before = await expand({ url: 'http://forlop.test/ValueSet/severe' });
    expect(codes(before.body)).not.toContain('substance');
    const changed = structuredClone(CONDITIONS);
    (changed.concept[2] as { property?: unknown[] }).property = [{ code: 'severity', valueCode: 'high' }];
    expect(
      (await t.http().put('/fhir/CodeSystem/conditions').set('Content-Type', FHIR_JSON).send(changed)).status,
    ).toBe(200);
    const after = await expand({ url: 'http://forlop.test/ValueSet/severe' });
    expect(codes(after.body)).toContain('substance');
    expect(
      (await t.http().put('/fhir/CodeSystem/conditions').set('Content-Type', FHIR_JSON).send(CONDITIONS)).status,
    ).toBe(200);
  });

  describe('errors', () => {
    it.each([
      ['an unknown value set', { url: 'http://example.org/ValueSet/none' }, 404, 'not-found', undefined],
      ['count that is not a number', { url: VS('pathway-types'), count: 'ten' }, 400, 'invalid', ['count']],
      ['a value set too large to expand at once', { url: VS('kommunenummer') }, 422, 'too-costly', undefined],
    ])('%s', async (_name, query, status, code, expression) => {
      const res = await expand(query as Record<string, string>);
      expect(res.status).toBe(status);
      expect(res.body.issue[0].code).toBe(code);
      if (expression) expect(res.body.issue[0].expression).toEqual(expression);
      // tx-issue-type has no code for too-costly: the issue's own code says it
      if (code === 'too-costly') expect(res.body.issue[0].details.coding).toBeUndefined();
    });

    it.each([
      [
        'an unknown code system',
        { include: [{ system: 'http://example.org/none' }] },
        "A definition for CodeSystem 'http://example.org/none' could not be found, so the value set cannot be expanded",
      ],
      [
        'an import that does not exist',
        { include: [{ valueSet: ['http://example.org/ValueSet/none'] }] },
        "A definition for the value set 'http://example.org/ValueSet/none' could not be found",
      ],
    ])('%s: 404 naming it in the text, with no element (it is about our content)', async (_name, compose, text) => {
      const res = await post([{ name: 'valueSet', resource: inline(compose as ValueSet['compose']) }]);
      expect(res.status).toBe(404);
      expect(res.body.issue[0]).toMatchObject({ code: 'not-found', details: { text } });
      expect(res.body.issue[0].expression).toBeUndefined();
    });

    it.each([
      [
        'a filter without a value',
        { include: [{ system: TEST_CS, filter: [{ property: 'concept', op: 'is-a' }] }] },
        400,
        'ValueSet.compose.include[0].filter[0]',
      ],
      [
        'a regex that does not compile',
        { include: [{ system: TEST_CS, filter: [{ property: 'code', op: 'regex', value: '(a' }] }] },
        400,
        'ValueSet.compose.include[0].filter[0]',
      ],
      [
        'an operator the property does not support',
        { include: [{ system: TEST_CS, filter: [{ property: 'severity', op: 'is-a', value: 'x' }] }] },
        400,
        'ValueSet.compose.include[0].filter[0]',
      ],
    ])('%s: the element is named', async (_name, compose, status, expression) => {
      const res = await post([{ name: 'valueSet', resource: inline(compose as ValueSet['compose']) }]);
      expect(res.status).toBe(status);
      expect(res.body.resourceType).toBe('OperationOutcome');
      expect(res.body.issue[0].expression).toEqual([expression]);
    });

    it('a catastrophic regex is answered at once (linear-time matching)', async () => {
      const started = Date.now();
      const res = await post([
        {
          name: 'valueSet',
          resource: inline({
            include: [
              {
                system: 'http://forlop.test/CodeSystem/redos',
                filter: [{ property: 'code', op: 'regex', value: '(a+)+' }],
              },
            ],
          }),
        },
        {
          name: 'tx-resource',
          resource: {
            resourceType: 'CodeSystem',
            url: 'http://forlop.test/CodeSystem/redos',
            status: 'active',
            content: 'complete',
            concept: [{ code: `${'a'.repeat(40)}b` }, { code: 'aaa' }],
          },
        },
      ]);
      expect(res.status).toBe(200);
      expect(codes(res.body)).toEqual(['aaa']);
      // a backtracking engine takes minutes on this input; the bound is loose on purpose
      expect(Date.now() - started).toBeLessThan(5000);
    });

    it('a value set that imports itself is refused, not looped', async () => {
      const res = await post([
        { name: 'url', valueUri: 'http://forlop.test/ValueSet/loop' },
        {
          name: 'tx-resource',
          resource: inline(
            { include: [{ valueSet: ['http://forlop.test/ValueSet/loop'] }] },
            { url: 'http://forlop.test/ValueSet/loop' },
          ),
        },
      ]);
      expect(res.status).toBe(422);
      expect(res.body.issue[0].details.text).toContain('includes itself');
    });
  });
});
