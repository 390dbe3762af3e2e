import { expect } from 'vitest';
import type { OperationOutcomeIssue } from '@medplum/fhirtypes';
import { FHIR_JSON, type TestServer } from '../support/server.js';

export type Issue = Pick<OperationOutcomeIssue, 'severity' | 'code' | 'diagnostics' | 'expression'>;

/** POSTs a resource to `[type]/$validate` and returns the answer's issues (200 is asserted). */
export async function validate(t: TestServer, resource: { resourceType: string }, query = ''): Promise<Issue[]> {
  const res = await t
    .http()
    .post(`/fhir/${resource.resourceType}/$validate${query}`)
    .set('Content-Type', FHIR_JSON)
    .send(resource);
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  expect(res.body.resourceType).toBe('OperationOutcome');
  return res.body.issue as Issue[];
}

/** The element paths of the issues of a severity, in order. */
export function at(issues: Issue[], severity: Issue['severity'] = 'error'): string[] {
  return issues.filter((i) => i.severity === severity).map((i) => i.expression?.[0] ?? '');
}

/** Asserts the answer has no errors, showing them when it does. */
export function expectValid(issues: Issue[]): void {
  expect(
    issues.filter((i) => i.severity === 'error' || i.severity === 'fatal'),
    JSON.stringify(issues),
  ).toEqual([]);
}

/** The one error at an element path, asserted to be the only error of the answer. */
export function onlyError(issues: Issue[], path: string): Issue {
  expect(at(issues), JSON.stringify(issues)).toEqual([path]);
  return issues.find((i) => i.severity === 'error') as Issue;
}
