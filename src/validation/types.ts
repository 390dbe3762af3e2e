import type { OperationOutcomeIssue, Resource } from '@medplum/fhirtypes';

/** What the store asks of a validator on every write (and `$validate` asks directly). */
export interface ResourceValidator {
  validate(resource: Resource): Promise<OperationOutcomeIssue[]>;
}
