import { beforeAll, expect } from 'vitest';
import type { Parameters, ParametersParameter } from '@medplum/fhirtypes';
import { loadTerminology } from '../../src/terminology/loader.js';
import type { TestServer } from '../support/server.js';

export const FORLOP = 'http://forlop.no/fhir';
export const CS = (n: string) => `${FORLOP}/CodeSystem/volven-${n}`;
export const VS = (name: string) => `${FORLOP}/ValueSet/${name}`;
export const OID = (n: string) => `urn:oid:2.16.578.1.12.4.1.1.${n}`;
export const TEST_CS = 'http://forlop.test/CodeSystem/conditions';

/** Loads the shipped terminology (valuesets/) into the test server's database. */
export function useTerminology(t: TestServer): void {
  beforeAll(async () => {
    await loadTerminology(t.services);
  });
}

/**
 * A small hierarchical code system for the hierarchy, property and status rules: nested concepts,
 * a `parent` property link, an inactive (retired) code, a notSelectable grouper, two languages.
 */
export const CONDITIONS = {
  resourceType: 'CodeSystem',
  id: 'conditions',
  url: TEST_CS,
  version: '1.0.0',
  name: 'Conditions',
  status: 'active',
  content: 'complete',
  caseSensitive: true,
  language: 'en',
  hierarchyMeaning: 'is-a',
  property: [
    { code: 'severity', type: 'code' },
    { code: 'status', uri: 'http://hl7.org/fhir/concept-properties#status', type: 'code' },
    { code: 'notSelectable', uri: 'http://hl7.org/fhir/concept-properties#notSelectable', type: 'boolean' },
    { code: 'parent', uri: 'http://hl7.org/fhir/concept-properties#parent', type: 'code' },
  ],
  concept: [
    {
      code: 'mental',
      display: 'Mental disorder',
      property: [{ code: 'notSelectable', valueBoolean: true }],
      designation: [{ language: 'nb', value: 'Psykisk lidelse' }],
      concept: [
        {
          code: 'psychosis',
          display: 'Psychotic disorder',
          definition: 'A disorder with loss of contact with reality',
          property: [{ code: 'severity', valueCode: 'high' }],
          designation: [{ language: 'nb', value: 'Psykoselidelse' }],
          concept: [
            { code: 'schizophrenia', display: 'Schizophrenia', property: [{ code: 'severity', valueCode: 'high' }] },
          ],
        },
        {
          code: 'ocd',
          display: 'Obsessive-compulsive disorder',
          property: [{ code: 'severity', valueCode: 'medium' }],
          designation: [{ language: 'nb', value: 'Tvangslidelse' }],
        },
      ],
    },
    {
      code: 'eating',
      display: 'Eating disorder',
      property: [
        { code: 'parent', valueCode: 'mental' },
        { code: 'severity', valueCode: 'high' },
      ],
    },
    { code: 'substance', display: 'Substance use disorder' },
    { code: 'old-neurosis', display: 'Neurosis (retired)', property: [{ code: 'status', valueCode: 'retired' }] },
  ],
};

/** The value of an output parameter (the first with that name). */
export function param(p: Parameters, name: string): ParametersParameter | undefined {
  return p.parameter?.find((x) => x.name === name);
}

/** Asserts a `$validate-code` answer's result, and returns its issues. */
export function expectResult(
  body: Parameters,
  result: boolean,
): { severity?: string; code?: string; type?: string; text?: string; expression?: string[] }[] {
  expect(body.resourceType).toBe('Parameters');
  expect(param(body, 'result')?.valueBoolean).toBe(result);
  const outcome = param(body, 'issues')?.resource as
    | {
        issue?: {
          severity: string;
          code: string;
          details?: { coding?: { code: string }[]; text?: string };
          expression?: string[];
        }[];
      }
    | undefined;
  return (outcome?.issue ?? []).map((i) => ({
    severity: i.severity,
    code: i.code,
    type: i.details?.coding?.[0]?.code,
    text: i.details?.text,
    expression: i.expression,
  }));
}
