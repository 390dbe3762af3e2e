import { describe, expect, it } from 'vitest';
import { compile } from 'fhirpath';
import r4model from 'fhirpath/fhir-context/r4';
import type { Resource } from '@medplum/fhirtypes';
import { loadDefinitions } from '../../src/fhir/definitions.js';
import { expressionFor } from '../../src/fhir/search/extract.js';
import { plainPath, splitUnion } from '../../src/fhir/search/plain-path.js';
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
        // a union's members each against fhirpath.js; duplicates are the extractor's row key's to remove
        // (fhirpath.js's own union merges quantities equal to its precision, such as 1e-22 g and 1e-245 g)
        const members = splitUnion(expression);
        const evaluate = (e: string) => compile(e, r4model)(resource as never) as unknown[];
        const reference = members.length > 1 ? distinct(members.flatMap(evaluate)) : evaluate(expression);
        const got = plain(resource as Resource);
        expect(members.length > 1 ? distinct(got) : got, `${file} ${sp.code}: ${expression}`).toEqual(reference);
        compared++;
      }
    }
    expect(compared).toBeGreaterThan(15_000); // 15,203 on 2026-12-01 (9,188 before filters, choices, Resource.*)
  });

  it('takes plain paths, typed choices and simple filters, and leaves the rest to fhirpath.js', () => {
    expect(plainPath(defs, 'Patient', 'Patient.name.family')).toBeDefined();
    expect(plainPath(defs, 'Patient', 'Patient.address.city | Patient.address.state')).toBeDefined();
    expect(plainPath(defs, 'Task', 'Task.for')).toBeDefined();
    expect(plainPath(defs, 'Observation', 'Observation.effective')).toBeUndefined(); // effective[x]
    expect(plainPath(defs, 'Observation', 'Observation.component.value')).toBeUndefined();
    expect(plainPath(defs, 'Observation', '(Observation.value as Quantity)')).toBeUndefined();
    expect(plainPath(defs, 'Patient', 'Patient.name.where(use = "official")')).toBeUndefined(); // not a string
    expect(plainPath(defs, 'Patient', "Patient.name.where(given = 'Kari')")).toBeUndefined(); // given repeats
    expect(plainPath(defs, 'Patient', "Patient.telecom.where(system='phone')")).toBeDefined();
    expect(plainPath(defs, 'Patient', '(Patient.deceased.ofType(dateTime))')).toBeDefined();
    expect(plainPath(defs, 'Patient', 'Patient.deceased.ofType(Quantity)')).toBeUndefined(); // not allowed
    expect(plainPath(defs, 'Patient', 'Resource.meta.tag')).toBeDefined();
    expect(plainPath(defs, 'Task', "Task.for.where(reference.startsWith('Patient/'))")).toBeDefined();
    expect(plainPath(defs, 'Patient', 'Patient.deceased.exists() and Patient.deceased != false')).toBeUndefined();
    expect(plainPath(defs, 'Observation', '(Observation.value.ofType(CodeableConcept)).text')).toBeUndefined();
    expect(plainPath(defs, 'Bundle', 'Bundle.entry.resource')).toBeUndefined(); // a resource inside
    expect(plainPath(defs, 'Patient', 'Patient.nosuchelement')).toBeUndefined();
    expect(plainPath(defs, 'Patient', 'Observation.code')).toBeUndefined(); // another type's
  });
});
