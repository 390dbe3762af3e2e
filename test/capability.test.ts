import { describe, expect, it } from 'vitest';
import { loadDefinitions } from '../src/fhir/definitions.js';
import { BACKENDS } from './support/backends.js';
import { FHIR_JSON, useServer } from './support/server.js';

describe.each(BACKENDS)('CapabilityStatement and resource types on $name', (backend) => {
  const t = useServer(backend);

  it('GET /metadata describes what is implemented', async () => {
    const res = await t.http().get('/fhir/metadata');
    expect(res.status).toBe(200);
    const cs = res.body;
    expect(cs.resourceType).toBe('CapabilityStatement');
    expect(cs.fhirVersion).toBe('4.0.1');
    expect(cs.kind).toBe('instance');
    expect(cs.format).toContain('application/fhir+json');
    expect(cs.patchFormat).toEqual(['application/json-patch+json']);
    const rest = cs.rest[0];
    expect(rest.interaction.map((i: { code: string }) => i.code).sort()).toEqual([
      'batch',
      'history-system',
      'transaction',
    ]);
    const patient = rest.resource.find((r: { type: string }) => r.type === 'Patient');
    expect(patient.interaction.map((i: { code: string }) => i.code).sort()).toEqual(
      [
        'create',
        'delete',
        'history-instance',
        'history-type',
        'patch',
        'read',
        'search-type',
        'update',
        'vread',
      ].sort(),
    );
    expect(patient.versioning).toBe('versioned-update');
    expect(patient.conditionalDelete).toBe('single');
    const params = Object.fromEntries(patient.searchParam.map((p: { name: string; type: string }) => [p.name, p.type]));
    expect(params).toMatchObject({
      identifier: 'token',
      name: 'string',
      birthdate: 'date',
      organization: 'reference',
      _lastUpdated: 'date',
    });
    // composite parameters are claimed; special ones (_text, _content, near) are not
    const observation = rest.resource.find((r: { type: string }) => r.type === 'Observation');
    expect(observation.searchParam).toContainEqual(
      expect.objectContaining({ name: 'code-value-quantity', type: 'composite' }),
    );
    expect(observation.searchParam.some((p: { type: string }) => p.type === 'special')).toBe(false);
  });

  /** Types whose empty instance breaks a resource-level invariant (key), though no element is required. */
  const INVARIANT_NEEDS_CONTENT: Record<string, string> = { InsurancePlan: 'ipn-1', Organization: 'org-1' };

  it('describes itself for the HL7 terminology ecosystem, and $versions answers R4', async () => {
    const cs = (await t.http().get('/fhir/metadata')).body;
    expect(cs).toMatchObject({
      url: 'http://forlop.test/fhir/metadata',
      name: 'ForlopCapabilityStatement',
      software: { name: 'Forløp', version: expect.stringMatching(/^\d+\.\d+\.\d+$/) },
    });
    expect(cs.software.releaseDate).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    const features = Object.fromEntries(
      cs.extension
        .filter((e: { url: string }) => e.url.endsWith('/application-feature/StructureDefinition/feature'))
        .map((e: { extension: { url: string; valueCanonical?: string }[] }) => [
          e.extension[0].valueCanonical,
          e.extension[1],
        ]),
    );
    expect(features['http://hl7.org/fhir/uv/tx-tests/FeatureDefinition/test-version']).toEqual({
      url: 'value',
      valueCode: '1.9.0',
    });
    expect(features['http://hl7.org/fhir/uv/tx-ecosystem/FeatureDefinition/CodeSystemAsParameter']).toEqual({
      url: 'value',
      valueBoolean: true,
    });
    expect(cs.rest[0].operation).toContainEqual({
      name: 'versions',
      definition: 'http://hl7.org/fhir/OperationDefinition/CapabilityStatement-versions',
    });

    const versions = await t.http().get('/fhir/$versions');
    expect(versions.status).toBe(200);
    expect(versions.body).toEqual({
      resourceType: 'Parameters',
      parameter: [
        { name: 'version', valueCode: '4.0' },
        { name: 'default', valueCode: '4.0' },
      ],
    });
    expect((await t.http().post('/fhir/$versions').set('Content-Type', FHIR_JSON).send({})).status).toBe(200);
  });

  it('lists every concrete R4 resource type; each is created, or refused naming exactly its required elements', async () => {
    const cs = (await t.http().get('/fhir/metadata')).body;
    const types: string[] = cs.rest[0].resource.map((r: { type: string }) => r.type);
    const expected = [...loadDefinitions().resourceTypes].sort();
    expect(types).toEqual(expected);
    expect(types.length).toBeGreaterThanOrEqual(145);
    expect(types).not.toContain('Parameters');
    let created = 0;
    for (const type of types) {
      // the elements an empty resource of this type lacks: top-level elements with min >= 1
      const required = (loadDefinitions().structures.get(type)?.snapshot?.element ?? [])
        .filter((e) => (e.min ?? 0) > 0 && e.path?.split('.').length === 2)
        .map((e) => e.path as string);
      const res = await t.http().post(`/fhir/${type}`).set('Content-Type', FHIR_JSON).send({ resourceType: type });
      if (!required.length && INVARIANT_NEEDS_CONTENT[type]) {
        // no required element, but an invariant that an empty resource breaks
        expect(res.status, type).toBe(422);
        expect(
          res.body.issue.map((i: { diagnostics: string }) => i.diagnostics.split(':')[0]),
          type,
        ).toEqual([INVARIANT_NEEDS_CONTENT[type]]);
      } else if (!required.length) {
        expect(res.status, type).toBe(201);
        const read = await t.http().get(`/fhir/${type}/${res.body.id}`);
        expect(read.status, type).toBe(200);
        expect(read.body.resourceType).toBe(type);
        created++;
      } else {
        expect(res.status, type).toBe(422);
        const named = res.body.issue
          .filter((i: { code: string }) => i.code === 'required')
          .map((i: { expression: string[] }) => i.expression[0]);
        expect(named.sort(), type).toEqual(required.sort());
      }
    }
    expect(created).toBe(30); // the R4 types with no required element and no invariant an empty one breaks
  });
});
