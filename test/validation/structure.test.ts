import { describe, expect, it } from 'vitest';
import { BACKENDS } from '../support/backends.js';
import { useServer } from '../support/server.js';
import { useTerminology } from '../terminology/support.js';
import { at, expectValid, onlyError, validate } from './support.js';

/** Base R4: the JSON schema, then the StructureDefinitions (R4 §1.16 Validation). */
describe.each(BACKENDS)('validation against base R4, on $name', (backend) => {
  const t = useServer(backend);
  useTerminology(t);
  const obs = (more: object) => ({ resourceType: 'Observation', status: 'final', code: { text: 'Vekt' }, ...more });

  it('a correct resource has no issues at all', async () => {
    const issues = await validate(t, {
      resourceType: 'Patient',
      name: [{ family: 'Dahl', given: ['Kari'] }],
      birthDate: '1970-03-15',
      gender: 'female',
    } as never);
    expect(issues).toEqual([{ severity: 'information', code: 'informational', diagnostics: 'No issues found' }]);
  });

  it('unknown elements, wrong JSON types and arrays are errors at their element, one issue each', async () => {
    const issues = await validate(t, {
      resourceType: 'Patient',
      foo: 1,
      active: 'yes',
      name: [{ given: 'Ola' }],
    } as never);
    expect(at(issues).sort()).toEqual(['Patient.active', 'Patient.foo', 'Patient.name[0].given']);
    expect(issues.find((i) => i.expression?.[0] === 'Patient.foo')).toMatchObject({
      code: 'structure',
      diagnostics: "Unknown element 'foo'",
    });
    expect(issues.find((i) => i.expression?.[0] === 'Patient.active')?.diagnostics).toContain('must be a JSON boolean');
  });

  it.each([
    ['date', { birthDate: '1970-13-01' }, 'Patient.birthDate'],
    ['date with a time', { birthDate: '1970-03-15T10:00:00Z' }, 'Patient.birthDate'],
    ['id', { id: 'a b' }, 'Patient.id'],
    ['instant without a time', { meta: { lastUpdated: '2026-01-01' } }, 'Patient.meta.lastUpdated'],
    ['dateTime with hours but no zone', { deceasedDateTime: '2026-01-01T10:00:00' }, 'Patient.deceasedDateTime'],
    ['uri with a space', { implicitRules: 'http://x y' }, 'Patient.implicitRules'],
    ['code with leading space', { gender: ' male' }, 'Patient.gender'],
    ['string that is empty', { name: [{ family: '' }] }, 'Patient.name[0].family'],
  ])('a malformed %s is an error at its element', async (_what, more, path) => {
    onlyError(await validate(t, { resourceType: 'Patient', ...more } as never), path);
  });

  it('decimals are JSON numbers; integers must be whole', async () => {
    onlyError(await validate(t, obs({ valueQuantity: { value: '1.0' } }) as never), 'Observation.valueQuantity.value');
    onlyError(
      await validate(t, { resourceType: 'Patient', multipleBirthInteger: 1.5 } as never),
      'Patient.multipleBirthInteger',
    );
    onlyError(await validate(t, { resourceType: 'Patient', photo: [{ size: -1 }] } as never), 'Patient.photo[0].size');
    expectValid(await validate(t, obs({ valueQuantity: { value: 72.5, unit: 'kg' } }) as never));
  });

  it('dates must exist in the calendar (the pattern alone lets 30 February through): found by the fuzz', async () => {
    expect(
      onlyError(await validate(t, { resourceType: 'Patient', birthDate: '1980-02-30' } as never), 'Patient.birthDate')
        .diagnostics,
    ).toContain('1980-02 has 29 days');
    onlyError(await validate(t, { resourceType: 'Patient', birthDate: '2025-02-29' } as never), 'Patient.birthDate');
    onlyError(
      await validate(t, obs({ effectiveDateTime: '2026-04-31T10:00:00Z' }) as never),
      'Observation.effectiveDateTime',
    );
    expectValid(await validate(t, { resourceType: 'Patient', birthDate: '2024-02-29' } as never));
    expectValid(await validate(t, { resourceType: 'Patient', birthDate: '1980-02' } as never));
  });

  it('bdl-7 (run as code, it is quadratic in FHIRPath): a fullUrl twice is an error unless the versions differ or it is a history', async () => {
    const entry = (id: string, versionId?: string) => ({
      fullUrl: 'http://x.example/fhir/Patient/1',
      resource: { resourceType: 'Patient', id, ...(versionId ? { meta: { versionId } } : {}) },
    });
    const issues = await validate(t, {
      resourceType: 'Bundle',
      type: 'collection',
      entry: [entry('1'), entry('1')],
    } as never);
    expect(
      issues
        .filter((i) => i.severity === 'error')
        .map((i) => i.diagnostics)
        .join(' '),
    ).toContain('bdl-7');
    expectValid(
      await validate(t, {
        resourceType: 'Bundle',
        type: 'collection',
        entry: [entry('1', '1'), entry('1', '2')],
      } as never),
    );
  });

  it('cardinality: a missing required element names it', async () => {
    const e = onlyError(
      await validate(t, { resourceType: 'Observation', code: { text: 'x' } } as never),
      'Observation.status',
    );
    expect(e.diagnostics).toContain('minimum required = 1');
  });

  it('choice types: an unknown type is an unknown element; two types of one choice is an error', async () => {
    onlyError(await validate(t, obs({ valueFoo: 1 }) as never), 'Observation.valueFoo');
    const two = onlyError(
      await validate(t, obs({ valueString: 'a', valueBoolean: true }) as never),
      'Observation.valueBoolean',
    );
    expect(two.diagnostics).toContain('only one of valueString, valueBoolean');
  });

  it('invariants of the resource and of datatypes are evaluated (pat-1, per-1)', async () => {
    expect(
      onlyError(
        await validate(t, { resourceType: 'Patient', contact: [{ gender: 'male' }] } as never),
        'Patient.contact[0]',
      ).diagnostics,
    ).toMatch(/^pat-1:/);
    expect(
      onlyError(
        await validate(t, obs({ effectivePeriod: { start: '2026-02-01', end: '2026-01-01' } }) as never),
        'Observation.effectivePeriod',
      ).diagnostics,
    ).toMatch(/^per-1:/);
  });

  it('ele-1: an element with neither value nor children is an error', async () => {
    onlyError(await validate(t, { resourceType: 'Patient', name: [{}] } as never), 'Patient.name[0]');
  });

  it('a required binding refuses a code outside its value set; an extensible one warns for a code of its own system', async () => {
    const bad = await validate(t, {
      resourceType: 'Condition',
      subject: { reference: 'Patient/1' },
      clinicalStatus: {
        coding: [{ system: 'http://terminology.hl7.org/CodeSystem/condition-clinical', code: 'bogus' }],
      },
    } as never);
    expect(at(bad)).toContain('Condition.clinicalStatus');
    expect(bad.find((i) => i.expression?.[0] === 'Condition.clinicalStatus')?.diagnostics).toContain(
      'required binding',
    );
    expectValid(
      await validate(t, {
        resourceType: 'Condition',
        subject: { reference: 'Patient/1' },
        clinicalStatus: {
          coding: [{ system: 'http://terminology.hl7.org/CodeSystem/condition-clinical', code: 'active' }],
        },
      } as never),
    );
    // Observation.interpretation is extensible: another system is fine, a wrong code of its own system a warning
    expectValid(
      await validate(
        t,
        obs({ interpretation: [{ coding: [{ system: 'http://example.org/local', code: 'x' }] }] }) as never,
      ),
    );
    const own = await validate(
      t,
      obs({
        bodySite: { text: 'arm' },
        interpretation: [
          { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation', code: 'H' }] },
        ],
      }) as never,
    );
    expectValid(own);
  });

  it('a code unknown to a complete code system we hold is an error at the coding', async () => {
    const issues = await validate(
      t,
      obs({
        category: [
          { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'bogus' }] },
        ],
      }) as never,
    );
    expect(at(issues)).toEqual(['Observation.category[0].coding[0].code']);
    const volven = await validate(
      t,
      obs({ code: { coding: [{ system: 'urn:oid:2.16.578.1.12.4.1.1.9321', code: 'Z99' }] } }) as never,
    );
    expect(at(volven)).toEqual(['Observation.code.coding[0].code']);
    expect(volven[0].diagnostics).toContain("Unknown code 'Z99'");
    expectValid(
      await validate(
        t,
        obs({ code: { coding: [{ system: 'urn:oid:2.16.578.1.12.4.1.1.9321', code: 'D06' }] } }) as never,
      ),
    );
  });

  it('an unknown extension is a warning; a known core extension is not', async () => {
    const issues = await validate(t, {
      resourceType: 'Patient',
      extension: [{ url: 'http://example.org/unknown', valueString: 'x' }],
    } as never);
    expect(at(issues, 'warning')).toEqual(['Patient.extension[0]']);
    expectValid(issues);
    const core = await validate(t, {
      resourceType: 'Patient',
      extension: [
        { url: 'http://hl7.org/fhir/StructureDefinition/patient-birthPlace', valueAddress: { city: 'Tromsø' } },
      ],
    } as never);
    expect(core.filter((i) => i.severity !== 'information')).toEqual([]);
  });

  it('ext-1: an extension with both a value and extensions is an error', async () => {
    onlyError(
      await validate(t, {
        resourceType: 'Patient',
        extension: [{ url: 'http://example.org/x', valueString: 'a', extension: [{ url: 'y', valueString: 'b' }] }],
      } as never),
      'Patient.extension[0]',
    );
  });

  it('contained resources and Bundle entries are validated at their own paths', async () => {
    const contained = await validate(t, {
      resourceType: 'Observation',
      status: 'final',
      code: { text: 'x' },
      subject: { reference: '#p' },
      contained: [{ resourceType: 'Patient', id: 'p', birthDate: 'soon' }],
    } as never);
    expect(at(contained)).toEqual(['Observation.contained[0].birthDate']);
    const bundle = await validate(t, {
      resourceType: 'Bundle',
      type: 'collection',
      entry: [{ resource: { resourceType: 'Patient', gender: 'man' } }],
    } as never);
    expect(at(bundle)).toEqual(['Bundle.entry[0].resource.gender']);
  });

  it('an empty array and a null are errors (R4 §2.6.2: leave the element out)', async () => {
    const empty = onlyError(await validate(t, { resourceType: 'Patient', name: [] } as never), 'Patient.name');
    expect(empty.diagnostics).toContain('cannot be empty');
    onlyError(await validate(t, { resourceType: 'Patient', meta: null } as never), 'Patient.meta');
  });

  it('base64Binary data, and an Attachment size that does not match it', async () => {
    const doc = (attachment: object) => ({
      resourceType: 'DocumentReference',
      status: 'current',
      content: [{ attachment }],
    });
    onlyError(
      await validate(t, doc({ contentType: 'text/plain', data: '%%%2@()()' }) as never),
      'DocumentReference.content[0].attachment.data',
    );
    expectValid(await validate(t, doc({ contentType: 'text/plain', data: 'aGVsbG8=', size: 5 }) as never));
    expect(
      onlyError(
        await validate(t, doc({ contentType: 'text/plain', data: 'aGVsbG8=', size: 100 }) as never),
        'DocumentReference.content[0].attachment.size',
      ).diagnostics,
    ).toContain('5 bytes');
  });

  it('an unknown modifier extension is an error (it may change the meaning); one on an example domain a warning', async () => {
    onlyError(
      await validate(t, {
        resourceType: 'Patient',
        modifierExtension: [{ url: 'http://forlop.test/no-such-modifier', valueBoolean: true }],
      } as never),
      'Patient.modifierExtension[0]',
    );
    const example = await validate(t, {
      resourceType: 'Patient',
      modifierExtension: [{ url: 'http://example.org/modifier', valueBoolean: true }],
    } as never);
    expectValid(example);
    expect(at(example, 'warning')).toEqual(['Patient.modifierExtension[0]']);
  });

  it('Bundle rules: absolute fullUrls, one self link, ids on search results', async () => {
    const bundle = (more: object) => ({ resourceType: 'Bundle', ...more });
    onlyError(
      await validate(
        t,
        bundle({
          type: 'collection',
          entry: [{ fullUrl: 'Patient/1', resource: { resourceType: 'Patient', id: '1' } }],
        }) as never,
      ),
      'Bundle.entry[0].fullUrl',
    );
    expectValid(
      await validate(
        t,
        bundle({
          type: 'collection',
          entry: [{ fullUrl: 'urn:uuid:8f0e1b2c-1d2e-4f3a-9b4c-5d6e7f8a9b0c', resource: { resourceType: 'Patient' } }],
        }) as never,
      ),
    );
    onlyError(
      await validate(
        t,
        bundle({
          type: 'searchset',
          link: [
            { relation: 'self', url: 'http://a/1' },
            { relation: 'self', url: 'http://a/2' },
          ],
        }) as never,
      ),
      'Bundle.link[1]',
    );
    onlyError(
      await validate(
        t,
        bundle({
          type: 'searchset',
          entry: [{ resource: { resourceType: 'Patient' }, search: { mode: 'match' } }],
        }) as never,
      ),
      'Bundle.entry[0].resource',
    );
    expectValid(
      await validate(
        t,
        bundle({
          type: 'searchset',
          entry: [
            {
              resource: {
                resourceType: 'OperationOutcome',
                issue: [{ severity: 'information', code: 'informational' }],
              },
              search: { mode: 'outcome' },
            },
          ],
        }) as never,
      ),
    );
  });

  it('a stored profile is honoured: its required binding on a Quantity checks the unit against a value set of listed UCUM codes', async () => {
    const vs = {
      resourceType: 'ValueSet',
      id: 'age-units',
      url: 'http://forlop.test/ValueSet/age-units',
      status: 'active',
      compose: { include: [{ system: 'http://unitsofmeasure.org', concept: [{ code: 'a' }, { code: 'mo' }] }] },
    };
    expect(
      (await t.http().put('/fhir/ValueSet/age-units').set('Content-Type', 'application/fhir+json').send(vs)).status,
    ).toBe(201);
    const profile = {
      resourceType: 'StructureDefinition',
      url: 'http://forlop.test/StructureDefinition/age',
      name: 'Age',
      status: 'active',
      kind: 'resource',
      abstract: false,
      type: 'Observation',
      baseDefinition: 'http://hl7.org/fhir/StructureDefinition/Observation',
      derivation: 'constraint',
      differential: {
        element: [
          {
            id: 'Observation.value[x]',
            path: 'Observation.value[x]',
            type: [{ code: 'Quantity' }],
            binding: { strength: 'required', valueSet: vs.url },
          },
        ],
      },
    };
    // a profile stored on the server is honoured like the shipped ones
    const stored = await t
      .http()
      .put('/fhir/StructureDefinition/age')
      .set('Content-Type', 'application/fhir+json')
      .send({ ...profile, id: 'age' });
    expect(stored.status, JSON.stringify(stored.body)).toBe(201);
    const age = (code: string) =>
      obs({ meta: { profile: [profile.url] }, valueQuantity: { value: 8, system: 'http://unitsofmeasure.org', code } });
    expectValid(await validate(t, age('a') as never));
    expect(onlyError(await validate(t, age('cm') as never), 'Observation.valueQuantity').diagnostics).toContain(
      'required binding',
    );
  });

  it('an unknown resource type is one clear error', async () => {
    const res = await validate(t, {
      resourceType: 'Bundle',
      type: 'collection',
      entry: [{ resource: { resourceType: 'Unicorn' } }],
    } as never);
    expect(at(res)).toEqual(['Bundle.entry[0].resource.resourceType']);
  });
});
