import type { Parameters } from '@medplum/fhirtypes';
import { FHIR_VERSION } from '../capability.js';
import type { Operation } from './types.js';

/** A FHIR version as `$versions` names it: major.minor (R4 CapabilityStatement-versions). */
const majorMinor = (version: string) => version.split('.').slice(0, 2).join('.');

/**
 * `GET [base]/$versions` (R4 OperationDefinition CapabilityStatement-versions): the FHIR versions this
 * server speaks and its default — one, R4. Clients (and the HL7 terminology tests' `metadata` case) ask
 * before they choose a version with the `fhirVersion` MIME-type parameter.
 */
export const versionsOperation: Operation = {
  name: 'versions',
  definition: 'http://hl7.org/fhir/OperationDefinition/CapabilityStatement-versions',
  levels: ['system'],
  methods: ['GET', 'POST'],
  // conformance information, like the CapabilityStatement: any caller may read it
  access: () => [],
  async handler() {
    const version = majorMinor(FHIR_VERSION);
    const out: Parameters = {
      resourceType: 'Parameters',
      parameter: [
        { name: 'version', valueCode: version },
        { name: 'default', valueCode: version },
      ],
    };
    return { status: 200, resource: out };
  },
};
