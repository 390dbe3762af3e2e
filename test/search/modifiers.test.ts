import { describe, expect, it } from 'vitest';
import { BACKENDS } from '../support/backends.js';
import { useFixtures, useServer } from '../support/server.js';

const LOINC = 'http://loinc.org';
const bp = (id: string, systolic: number, diastolic: number) => ({
  resourceType: 'Observation',
  id,
  status: 'final',
  code: { coding: [{ system: LOINC, code: '85354-9' }] },
  subject: { reference: 'Patient/m-1' },
  component: [
    {
      code: { coding: [{ system: LOINC, code: '8480-6' }] },
      valueQuantity: { value: systolic, unit: 'mmHg', system: 'http://unitsofmeasure.org', code: 'mm[Hg]' },
    },
    {
      code: { coding: [{ system: LOINC, code: '8462-4' }] },
      valueQuantity: { value: diastolic, unit: 'mmHg', system: 'http://unitsofmeasure.org', code: 'mm[Hg]' },
    },
  ],
});

const FIXTURES = [
  {
    resourceType: 'Patient',
    id: 'm-1',
    identifier: [
      {
        type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v2-0203', code: 'NH' }] },
        system: 'urn:oid:2.16.578.1.12.4.1.4.1',
        value: '13116900216',
      },
      {
        type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v2-0203', code: 'MR' }] },
        system: 'urn:hospital',
        value: 'MR-77',
      },
    ],
  },
  {
    resourceType: 'Patient',
    id: 'm-2',
    identifier: [
      {
        type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v2-0203', code: 'MR' }] },
        system: 'urn:hospital',
        value: '13116900216',
      },
    ],
  },
  {
    resourceType: 'Observation',
    id: 'w-1',
    status: 'final',
    code: { coding: [{ system: LOINC, code: '29463-7' }] },
    valueQuantity: { value: 70, system: 'http://unitsofmeasure.org', code: 'kg' },
    subject: { identifier: { system: 'urn:oid:2.16.578.1.12.4.1.4.1', value: '13116900216' } },
  },
  bp('bp-high', 150, 95),
  // systolic 90 and diastolic 150 would match "systolic > 140" only if components were mixed up
  bp('bp-mixed', 90, 150),
];

describe.each(BACKENDS)('composite parameters and the :of-type and :identifier modifiers on $name', (backend) => {
  const t = useServer(backend);
  useFixtures(t, () => FIXTURES);
  const found = async (q: string) => {
    const res = await t.http().get(`/fhir/${q}`);
    expect(res.status, JSON.stringify(res.body.issue ?? '')).toBe(200);
    return (res.body.entry ?? []).map((e: { resource: { id: string } }) => e.resource.id).sort();
  };

  it.each([
    ['Observation?component-code-value-quantity=http://loinc.org|8480-6$gt140', ['bp-high']],
    ['Observation?component-code-value-quantity=8462-4$gt140', ['bp-mixed']],
    ['Observation?component-code-value-quantity=8480-6$lt100,8462-4$gt100', ['bp-mixed']],
    ['Observation?component-code-value-quantity=8480-6$gt140&component-code-value-quantity=8462-4$gt90', ['bp-high']],
    ['Observation?code-value-quantity=http://loinc.org|29463-7$70', ['w-1']],
    ['Observation?code-value-quantity=29463-7$gt80', []],
    ['Observation?combo-code-value-quantity=8480-6$150', ['bp-high']],
    ['Observation?component-code-value-quantity:missing=true', ['w-1']],
    ['Patient?identifier:of-type=http://terminology.hl7.org/CodeSystem/v2-0203|NH|13116900216', ['m-1']],
    ['Patient?identifier:of-type=http://terminology.hl7.org/CodeSystem/v2-0203|MR|13116900216', ['m-2']],
    ['Patient?identifier:of-type=http://terminology.hl7.org/CodeSystem/v2-0203|MR|MR-77', ['m-1']],
    ['Observation?subject:identifier=urn:oid:2.16.578.1.12.4.1.4.1|13116900216', ['w-1']],
    ['Observation?subject:identifier=13116900216', ['w-1']],
    ['Observation?subject:identifier=urn:hospital|13116900216', []],
  ])('%s', async (query, expected) => {
    expect(await found(query)).toEqual(expected);
  });

  it('refuses malformed composite and :of-type values', async () => {
    for (const q of [
      'Observation?component-code-value-quantity=8480-6',
      'Observation?component-code-value-quantity=8480-6$abc',
      'Patient?identifier:of-type=MR|123',
      'Patient?gender:of-type=x|y|z',
    ]) {
      const res = await t.http().get(`/fhir/${q}`);
      expect(res.status, q).toBe(400);
      expect(res.body.resourceType).toBe('OperationOutcome');
    }
  });
});
