import type { OperationOutcomeIssue, Resource } from '@medplum/fhirtypes';

export interface ValidateOptions {
  /** Profiles (canonical urls) to validate against besides those in `meta.profile`. */
  profiles?: string[];
}

/** What the store asks of a validator on every write (and `$validate` and the command ask directly). */
export interface ResourceValidator {
  validate(resource: Resource, options?: ValidateOptions): Promise<OperationOutcomeIssue[]>;
  /** The profiles of a resource type it validates against (for the CapabilityStatement). */
  supportedProfiles(type: string): string[];
}
