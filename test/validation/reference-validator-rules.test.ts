import { describe, expect, it } from 'vitest';
import { BACKENDS } from '../support/backends.js';
import { FHIR_JSON, useServer } from '../support/server.js';
import { useTerminology } from '../terminology/support.js';
import { at, expectValid, onlyError, validate, type Issue } from './support.js';

/**
 * The rules the HL7 validator cases check (issue 23; docs/validation.md "HL7 validator cases"), each
 * over HTTP through `$validate` or a write: one error per fault, at its FHIRPath location.
 */
describe.each(BACKENDS)('rules of the reference validator, on $name', (backend) => {
  const t = useServer(backend);
  useTerminology(t);
  const put = async (resource: { resourceType: string; id: string; [key: string]: unknown }) => {
    const res = await t
      .http()
      .put(`/fhir/${resource.resourceType}/${resource.id}`)
      .set('Content-Type', FHIR_JSON)
      .send(resource);
    expect([200, 201], JSON.stringify(res.body)).toContain(res.status);
  };
  const withProfile = (url: string) => `?profile=${encodeURIComponent(url)}`;
  const errorAt = (issues: Issue[], path: string) =>
    issues.find((i) => i.severity === 'error' && i.expression?.[0] === path);

  it('a missing required element is one error, at the element (not also at the resource)', async () => {
    onlyError(await validate(t, { resourceType: 'Observation', status: 'final' } as never), 'Observation.code');
  });

  it('a meta.profile that is not an array is one error at it, and the rest is still validated', async () => {
    const issues = await validate(t, {
      resourceType: 'Patient',
      meta: { profile: 'http://hl7.org/fhir/StructureDefinition/Patient' },
      gender: 'unknown-gender',
    } as never);
    expect(at(issues).sort()).toEqual(['Patient.gender', 'Patient.meta.profile']);
  });

  it('dom-3: a contained resource that nothing refers to is an error; one referred to is not', async () => {
    const condition = (asserter?: object) => ({
      resourceType: 'Condition',
      subject: { reference: 'Patient/p1' },
      contained: [{ resourceType: 'Practitioner', id: 'doc', name: [{ family: 'Lege' }] }],
      ...(asserter ? { asserter } : {}),
    });
    const issue = onlyError(await validate(t, condition() as never), 'Condition');
    expect(issue).toMatchObject({ code: 'invariant' });
    expect(issue.diagnostics).toMatch(/^dom-3:/);
    expectValid(await validate(t, condition({ reference: '#doc' }) as never));
  });

  it('a code under a required binding given only as an extension has no code: an error', async () => {
    const issue = onlyError(
      await validate(t, {
        resourceType: 'AllergyIntolerance',
        clinicalStatus: {
          coding: [{ system: 'http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical', code: 'active' }],
        },
        patient: { reference: 'Patient/p1' },
        _category: [
          { extension: [{ url: 'http://hl7.org/fhir/StructureDefinition/data-absent-reason', valueCode: 'unknown' }] },
        ],
      } as never),
      'AllergyIntolerance.category[0]',
    );
    expect(issue.diagnostics).toContain('No code provided');
  });

  it('a narrative link to #x must lead to an anchor, an element id or a contained resource', async () => {
    const patient = (div: string) => ({
      resourceType: 'Patient',
      text: { status: 'generated', div: `<div xmlns="http://www.w3.org/1999/xhtml">${div}</div>` },
      contained: [{ resourceType: 'Organization', id: 'org1', name: 'Sykehuset' }],
      managingOrganization: { reference: '#org1' },
    });
    const issues = await validate(
      t,
      patient('<a href="#nowhere">x</a> <a href="#elsewhere">y</a> <a href="#org1">z</a>') as never,
    );
    expect(at(issues)).toEqual(['Patient.text.div', 'Patient.text.div']);
    expect(issues[0].diagnostics).toContain("'#nowhere'");
    expectValid(
      await validate(t, patient('<a name="top"/><p id="p1">x</p><a href="#top">a</a><a href="#p1">b</a>') as never),
    );
  });

  it('a document Bundle: references resolve to exactly one entry, by fullUrl and version', async () => {
    const base = 'http://example.org/fhir';
    const obs = (versionId: string) => ({
      fullUrl: `${base}/Observation/o1`,
      resource: { resourceType: 'Observation', id: 'o1', meta: { versionId }, status: 'final', code: { text: 'BT' } },
    });
    const bundle = {
      resourceType: 'Bundle',
      type: 'document',
      identifier: { system: 'urn:ietf:rfc:3986', value: 'urn:uuid:1d2b9a4e-6a5c-4f7e-9b0e-2f3a4b5c6d7e' },
      timestamp: '2026-03-01T10:00:00Z',
      entry: [
        {
          fullUrl: `${base}/Composition/c1`,
          resource: {
            resourceType: 'Composition',
            id: 'c1',
            status: 'final',
            type: { text: 'Epikrise' },
            subject: { reference: 'Patient/p1' },
            date: '2026-03-01',
            author: [{ reference: 'Patient/p1' }],
            title: 'Epikrise',
            section: [
              {
                title: 'Funn',
                entry: [
                  { reference: 'Observation/o1/_history/1' },
                  { reference: 'Observation/o1/_history/3' },
                  { reference: 'Observation/o1' },
                ],
              },
            ],
          },
        },
        { fullUrl: `${base}/Patient/p1`, resource: { resourceType: 'Patient', id: 'p1' } },
        obs('1'),
        obs('2'),
      ],
    };
    const issues = await validate(t, bundle as never);
    expect(at(issues)).toEqual([
      'Bundle.entry[0].resource.section[0].entry[1]',
      'Bundle.entry[0].resource.section[0].entry[2]',
    ]);
    expect(errorAt(issues, 'Bundle.entry[0].resource.section[0].entry[1]')?.diagnostics).toContain('does not resolve');
    expect(errorAt(issues, 'Bundle.entry[0].resource.section[0].entry[2]')?.diagnostics).toContain('matches 2 entries');
  });

  it("a RESTful fullUrl that disagrees with the resource's id is a warning (the spec's own examples do it)", async () => {
    const issues = await validate(t, {
      resourceType: 'Bundle',
      type: 'collection',
      entry: [{ fullUrl: 'http://example.org/fhir/Patient/p12', resource: { resourceType: 'Patient', id: 'p2' } }],
    } as never);
    expectValid(issues);
    expect(at(issues, 'warning')).toEqual(['Bundle.entry[0].fullUrl']);
  });

  it("search results: an 'outcome' entry is an OperationOutcome; a 'match' is of the type searched", async () => {
    const issues = await validate(t, {
      resourceType: 'Bundle',
      type: 'searchset',
      link: [{ relation: 'self', url: 'http://example.org/fhir?_type=Observation,DocumentReference' }],
      entry: [
        {
          fullUrl: 'http://example.org/fhir/Patient/p1',
          resource: { resourceType: 'Patient', id: 'p1' },
          search: { mode: 'outcome' },
        },
        {
          fullUrl: 'http://example.org/fhir/Patient/p2',
          resource: { resourceType: 'Patient', id: 'p2' },
          search: { mode: 'match' },
        },
        {
          fullUrl: 'http://example.org/fhir/Observation/o1',
          resource: { resourceType: 'Observation', id: 'o1', status: 'final', code: { text: 'BT' } },
          search: { mode: 'match' },
        },
      ],
    } as never);
    expect(at(issues)).toEqual(['Bundle.entry[0].resource', 'Bundle.entry[1].resource']);
    expect(errorAt(issues, 'Bundle.entry[1].resource')?.diagnostics).toContain('Observation, DocumentReference');
  });

  it("a CapabilityStatement's search parameter has the type of the SearchParameter it names", async () => {
    const issue = onlyError(
      await validate(t, {
        resourceType: 'CapabilityStatement',
        status: 'active',
        date: '2026-03-01',
        kind: 'instance',
        fhirVersion: '4.0.1',
        format: ['json'],
        implementation: { description: 'Forløp' },
        rest: [
          {
            mode: 'server',
            resource: [
              {
                type: 'AllergyIntolerance',
                searchParam: [
                  {
                    name: 'clinical-status',
                    definition: 'http://hl7.org/fhir/SearchParameter/AllergyIntolerance-clinical-status',
                    type: 'date',
                  },
                  { name: 'code', definition: 'http://hl7.org/fhir/SearchParameter/clinical-code', type: 'token' },
                ],
              },
            ],
          },
        ],
      } as never),
      'CapabilityStatement.rest[0].resource[0].searchParam[0].type',
    );
    expect(issue.diagnostics).toContain('of type token, not date');
  });

  it("a complete CodeSystem's count is its number of concepts, nested ones included", async () => {
    const cs = (count: number) => ({
      resourceType: 'CodeSystem',
      url: 'http://example.org/cs/count',
      status: 'active',
      content: 'complete',
      count,
      concept: [{ code: 'a', concept: [{ code: 'a1' }] }, { code: 'b' }],
    });
    onlyError(await validate(t, cs(10) as never), 'CodeSystem.count');
    expectValid(await validate(t, cs(3) as never));
  });

  it('a value of a type the profile does not allow is one error (not also a missing value)', async () => {
    await put(
      profile('obs-quantity', 'Observation', 'http://hl7.org/fhir/StructureDefinition/Observation', [
        { id: 'Observation.value[x]', path: 'Observation.value[x]', min: 1, type: [{ code: 'Quantity' }] },
      ]),
    );
    const issues = await validate(
      t,
      { resourceType: 'Observation', status: 'final', code: { text: 'Alder' }, valueString: 'tre' } as never,
      withProfile(`${PROFILES}/obs-quantity`),
    );
    onlyError(issues, 'Observation.valueString');
  });

  it('a profile on a profile: the rules of the profile it is built on apply too (stored profiles)', async () => {
    await put(
      profile('patient-born', 'Patient', 'http://hl7.org/fhir/StructureDefinition/Patient', [
        { id: 'Patient.birthDate', path: 'Patient.birthDate', min: 1 },
      ]),
    );
    await put(
      profile('patient-born-gendered', 'Patient', `${PROFILES}/patient-born`, [
        { id: 'Patient.gender', path: 'Patient.gender', min: 1 },
      ]),
    );
    const url = withProfile(`${PROFILES}/patient-born-gendered`);
    expect(at(await validate(t, { resourceType: 'Patient' } as never, url)).sort()).toEqual([
      'Patient.birthDate',
      'Patient.gender',
    ]);
    expectValid(await validate(t, { resourceType: 'Patient', gender: 'male', birthDate: '1970-01-01' } as never, url));
  });

  it("R4's own profiles are known: bodyweight, and vitalsigns it is built on", async () => {
    const weight = {
      resourceType: 'Observation',
      meta: { profile: ['http://hl7.org/fhir/StructureDefinition/bodyweight'] },
      status: 'final',
      code: { coding: [{ system: 'http://loinc.org', code: '29463-7' }] },
      subject: { reference: 'Patient/p1' },
      effectiveDateTime: '2026-03-01',
      valueQuantity: { value: 72, unit: 'kg', system: 'http://unitsofmeasure.org', code: 'kg' },
    };
    const issues = await validate(t, weight as never);
    // vitalsigns (the base of bodyweight) requires the vital-signs category
    expect(at(issues)).toEqual(['Observation.category']);
    expect(issues.some((i) => i.diagnostics?.includes('is not known here'))).toBe(false);
    const category = [
      {
        coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'vital-signs' }],
      },
    ];
    expectValid(await validate(t, { ...weight, category } as never));
  });

  it('a profile that changes a value its base profile fixes is refused on write (422)', async () => {
    const ext = 'http://example.org/fhir/StructureDefinition/ext-base';
    await put({
      ...profile('ext-base', 'Extension', 'http://hl7.org/fhir/StructureDefinition/Extension', [
        { id: 'Extension.url', path: 'Extension.url', fixedUri: ext },
      ]),
      url: ext,
      kind: 'complex-type',
      context: [{ type: 'element', expression: 'Patient' }],
    });
    const derived = {
      ...profile('ext-derived', 'Extension', ext, [
        {
          id: 'Extension.url',
          path: 'Extension.url',
          fixedUri: 'http://example.org/fhir/StructureDefinition/ext-derived',
        },
      ]),
      url: 'http://example.org/fhir/StructureDefinition/ext-derived',
      kind: 'complex-type',
      context: [{ type: 'element', expression: 'Patient' }],
    };
    const res = await t
      .http()
      .put('/fhir/StructureDefinition/ext-derived')
      .set('Content-Type', FHIR_JSON)
      .send(derived);
    expect(res.status).toBe(422);
    expect(at(res.body.issue)).toEqual(['StructureDefinition.differential.element[1]']);
  });

  it('an additional binding with purpose required is checked like a required binding', async () => {
    await put({
      resourceType: 'ValueSet',
      id: 'internal-codes',
      url: 'http://example.org/fhir/ValueSet/internal-codes',
      status: 'active',
      compose: { include: [{ system: 'http://loinc.org', concept: [{ code: '100065-2' }] }] },
    });
    await put(
      profile('obs-additional', 'Observation', 'http://hl7.org/fhir/StructureDefinition/Observation', [
        {
          id: 'Observation.code',
          path: 'Observation.code',
          binding: {
            strength: 'example',
            valueSet: 'http://hl7.org/fhir/ValueSet/observation-codes',
            extension: [
              {
                url: 'http://hl7.org/fhir/5.0/StructureDefinition/extension-ElementDefinition.binding.additional',
                extension: [
                  { url: 'purpose', valueCode: 'required' },
                  { url: 'valueSet', valueCanonical: 'http://example.org/fhir/ValueSet/internal-codes' },
                ],
              },
            ],
          },
        },
      ]),
    );
    const obs = (code: string) => ({
      resourceType: 'Observation',
      status: 'final',
      code: { coding: [{ system: 'http://loinc.org', code }] },
    });
    const url = withProfile(`${PROFILES}/obs-additional`);
    onlyError(await validate(t, obs('100066-0') as never, url), 'Observation.code');
    expectValid(await validate(t, obs('100065-2') as never, url));
  });

  it('an extension is a modifier extension exactly when its definition says so', async () => {
    const ext = (id: string) => ({
      ...profile(id, 'Extension', 'http://hl7.org/fhir/StructureDefinition/Extension', [
        { id: 'Extension.url', path: 'Extension.url', fixedUri: `${PROFILES}/${id}` },
        { id: 'Extension.value[x]', path: 'Extension.value[x]', type: [{ code: 'boolean' }] },
      ]),
      kind: 'complex-type',
      context: [{ type: 'element', expression: 'Patient' }],
    });
    const plain = ext('plain-flag');
    const modifier = ext('negating-flag');
    modifier.differential.element[0] = {
      id: 'Extension',
      path: 'Extension',
      isModifier: true,
      isModifierReason: 'Negates the record',
    } as never;
    await put(plain);
    await put(modifier);
    const patient = (more: object) => ({ resourceType: 'Patient', ...more }) as never;
    const use = (id: string) => [{ url: `${PROFILES}/${id}`, valueBoolean: true }];
    onlyError(await validate(t, patient({ modifierExtension: use('plain-flag') })), 'Patient.modifierExtension[0]');
    onlyError(await validate(t, patient({ extension: use('negating-flag') })), 'Patient.extension[0]');
    expectValid(await validate(t, patient({ extension: use('plain-flag'), modifierExtension: use('negating-flag') })));
  });

  it("a ConceptMap's source codes are in its source value set", async () => {
    await put({
      resourceType: 'ValueSet',
      id: 'cm-source',
      url: 'http://example.org/fhir/ValueSet/cm-source',
      status: 'active',
      compose: { include: [{ system: 'http://example.org/cs/units', concept: [{ code: 'vac' }, { code: 'pharm' }] }] },
    });
    const map = {
      resourceType: 'ConceptMap',
      status: 'active',
      sourceCanonical: 'http://example.org/fhir/ValueSet/cm-source',
      group: [
        {
          source: 'http://example.org/cs/units',
          target: 'http://snomed.info/sct',
          element: [
            { code: 'med', target: [{ code: '264358009', equivalence: 'equivalent' }] },
            { code: 'vac', target: [{ code: '46224007', equivalence: 'equivalent' }] },
          ],
        },
      ],
    };
    onlyError(await validate(t, map as never), 'ConceptMap.group[0].element[0].code');
  });
});

const PROFILES = 'http://example.org/fhir/StructureDefinition';

/** A constraint StructureDefinition of ours, with its differential. */
function profile(id: string, type: string, baseDefinition: string, element: object[]) {
  return {
    resourceType: 'StructureDefinition',
    id,
    url: `${PROFILES}/${id}`,
    name: id.replace(/-/g, ''),
    status: 'active',
    kind: 'resource',
    abstract: false,
    type,
    baseDefinition,
    derivation: 'constraint',
    differential: { element: [{ id: type, path: type }, ...element] },
  };
}
