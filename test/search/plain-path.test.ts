import { describe, expect, it } from 'vitest';
import { compile } from 'fhirpath';
import r4model from 'fhirpath/fhir-context/r4';
import type { Resource } from '@medplum/fhirtypes';
import { loadDefinitions } from '../../src/fhir/definitions.js';
import { expressionFor } from '../../src/fhir/search/extract.js';
import { plainPath } from '../../src/fhir/search/plain-path.js';
import { ALL_EXAMPLES } from '../support/hl7-examples.js';

const defs = loadDefinitions();

/** Distinct values as FHIRPath's union keeps them (JSON-equal values once), in order. */
const distinct = (values: unknown[]) => [...new Map(values.map((v) => [JSON.stringify(v), v])).values()];

/**
 * The JSON walker that index extraction uses for plain paths (issue 21) against fhirpath.js itself:
 * for every search parameter of every R4 example's type, where the walker takes the expression it must
 * give what fhirpath.js gives, and it must refuse every expression with a choice element on its way.
 */
describe('plain search-parameter paths walked over JSON', () => {
  it('give what fhirpath.js gives, for every parameter on all 711 R4 examples', () => {
    let compared = 0;
    for (const { file, resource } of ALL_EXAMPLES) {
      for (const sp of defs.searchParams.get(resource.resourceType)?.values() ?? []) {
        const expression = expressionFor(sp, resource.resourceType);
        const plain = expression && plainPath(defs, resource.resourceType, expression);
        if (!plain) continue;
        const reference = compile(expression, r4model)(resource as never) as unknown[];
        const union = expression.includes('|');
        const got = plain(resource as Resource);
        expect(union ? distinct(got) : got, `${file} ${sp.code}: ${expression}`).toEqual(reference);
        compared++;
      }
    }
    expect(compared).toBeGreaterThan(9_000); // 9,188 on 2026-12-01
  });

  it('takes the common plain paths and leaves choices, functions and casts to fhirpath.js', () => {
    expect(plainPath(defs, 'Patient', 'Patient.name.family')).toBeDefined();
    expect(plainPath(defs, 'Patient', 'Patient.address.city | Patient.address.state')).toBeDefined();
    expect(plainPath(defs, 'Task', 'Task.for')).toBeDefined();
    expect(plainPath(defs, 'Observation', 'Observation.effective')).toBeUndefined(); // effective[x]
    expect(plainPath(defs, 'Observation', 'Observation.component.value')).toBeUndefined();
    expect(plainPath(defs, 'Observation', '(Observation.value as Quantity)')).toBeUndefined();
    expect(plainPath(defs, 'Patient', 'Patient.name.where(use = "official")')).toBeUndefined();
    expect(plainPath(defs, 'Bundle', 'Bundle.entry.resource')).toBeUndefined(); // a resource inside
    expect(plainPath(defs, 'Patient', 'Patient.nosuchelement')).toBeUndefined();
    expect(plainPath(defs, 'Patient', 'Observation.code')).toBeUndefined(); // another type's
  });
});
