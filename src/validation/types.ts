import type { CodeSystem, OperationOutcomeIssue, Resource, ValueSet } from '@medplum/fhirtypes';

export interface ValidateOptions {
  /** Profiles (canonical urls) to validate against besides those in `meta.profile`. */
  profiles?: string[];
  /** Code systems and value sets to use besides the stored ones (like `tx-resource`: supporting files). */
  terminology?: (CodeSystem | ValueSet)[];
}

/** What the store asks of a validator on every write (and `$validate` and the command ask directly). */
export interface ResourceValidator {
  validate(resource: Resource, options?: ValidateOptions): Promise<OperationOutcomeIssue[]>;
  /** The profiles of a resource type it validates against (for the CapabilityStatement). */
  supportedProfiles(type: string): string[];
}
