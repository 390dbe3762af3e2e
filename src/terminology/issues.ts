import type { OperationOutcomeIssue } from '@medplum/fhirtypes';
import { FhirError, type ErrorCategory } from '../fhir/errors.js';

/**
 * Terminology issues as terminology servers report them (the HL7 tx ecosystem convention that R5
 * formalises): a coded reason from the `tx-issue-type` system in `details`, the text beside it, and
 * the element as `expression`. No `location`: R4 deprecates it (an XPath, which our FHIRPath paths are
 * not) and R5 leaves it for XPath alone; the HL7 tx tests follow tx.fhir.org, which sends none.
 */
export const TX_ISSUE_TYPE = 'http://hl7.org/fhir/tools/CodeSystem/tx-issue-type';

export type TxIssueType =
  | 'not-found'
  | 'not-in-vs'
  | 'invalid-code'
  | 'invalid-display'
  | 'cannot-infer'
  | 'code-rule'
  | 'vs-invalid'
  | 'status-check'
  | 'inactive-code'
  | 'process-note'
  | 'this-code-not-in-vs'
  | 'display-comment'
  | 'code-comment'
  | 'version-error'
  | 'invalid-data';

/** The core extension naming which message an issue is (clients recognise a message by it, not its text). */
export const MESSAGE_ID = 'http://hl7.org/fhir/StructureDefinition/operationoutcome-message-id';

/**
 * An issue; `messageId` names the message as the HL7 tools' message catalogue does (e.g.
 * `Unknown_Code_in_Version`), so clients and tx.fhir.org's tests can tell the messages apart.
 */
export function txIssue(
  severity: OperationOutcomeIssue['severity'],
  code: OperationOutcomeIssue['code'],
  type: TxIssueType,
  text: string,
  expression?: string,
  messageId?: string,
): OperationOutcomeIssue {
  return {
    ...(messageId ? { extension: [{ url: MESSAGE_ID, valueString: messageId }] } : {}),
    severity,
    code,
    details: { coding: [{ system: TX_ISSUE_TYPE, code: type }], text },
    ...(expression ? { expression: [expression] } : {}),
  };
}

/** A terminology failure answered with an OperationOutcome of its own. */
export function txError(category: ErrorCategory, ...issues: OperationOutcomeIssue[]): FhirError {
  return FhirError.withIssues(category, issues);
}

/** The 404 of a definition (code system, value set, concept map) the server does not hold. */
export function definitionNotFound(text: string, expression?: string): FhirError {
  return txError('not-found', txIssue('error', 'not-found', 'not-found', text, expression));
}
