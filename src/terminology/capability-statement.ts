import type { CapabilityStatement, Extension } from '@medplum/fhirtypes';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** What config/terminology-ecosystem.json says: data, so a new test release or feature needs no code. */
interface EcosystemFeatures {
  testVersion: string;
  features: { definition: string; valueBoolean: boolean }[];
}

const features = JSON.parse(
  readFileSync(join(import.meta.dirname, '../../config/terminology-ecosystem.json'), 'utf8'),
) as EcosystemFeatures;

const FEATURE = 'http://hl7.org/fhir/uv/application-feature/StructureDefinition/feature';
const TEST_VERSION = 'http://hl7.org/fhir/uv/tx-tests/FeatureDefinition/test-version';

/** One application-feature extension: the feature's definition and this server's value for it. */
function feature(definition: string, value: Omit<Extension, 'url'>): Extension {
  return {
    url: FEATURE,
    extension: [
      { url: 'definition', valueCanonical: definition },
      { url: 'value', ...value },
    ],
  };
}

/**
 * The CapabilityStatement of a server in the HL7 terminology ecosystem (its requirements: "metadata"):
 * application-feature extensions say which version of HL7's terminology tests it follows and what it
 * supports (config/terminology-ecosystem.json). Not `instantiates` the terminology-server statement the
 * ecosystem asks for: every canonical our statement names resolves on this server (served-definitions
 * test), and that statement is an R4 example, not in the definitions we ship (docs/terminology.md).
 */
export function withTerminologyFeatures(cs: CapabilityStatement): CapabilityStatement {
  cs.extension = [
    ...(cs.extension ?? []),
    feature(TEST_VERSION, { valueCode: features.testVersion }),
    ...features.features.map((f) => feature(f.definition, { valueBoolean: f.valueBoolean })),
  ];
  return cs;
}
