import type { OperationOutcomeIssue, Resource } from '@medplum/fhirtypes';
import { FhirError } from '../errors.js';
import type { Services } from '../services.js';

/** The body of a create/update: a JSON object of a known type that matches the URL. */
export function requireResource(svc: Services, body: unknown, type: string): Resource {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new FhirError('invalid', {
      message: 'The request body must be a FHIR resource (a JSON object)',
      expression: type,
    });
  }
  const rt = (body as { resourceType?: unknown }).resourceType;
  if (typeof rt !== 'string')
    throw new FhirError('invalid', { message: 'The resource has no resourceType', expression: 'resourceType' });
  if (rt !== type)
    throw new FhirError('invalid', {
      message: `resourceType '${rt}' does not match the URL's type '${type}'`,
      expression: 'resourceType',
    });
  return body as Resource;
}

export function requireType(svc: Services, type: string | undefined): string {
  if (!type || !svc.defs.resourceTypes.has(type)) {
    throw new FhirError('not-found', { message: `Unknown resource type '${type ?? ''}'`, code: 'not-supported' });
  }
  return type;
}

/**
 * Runs the validator; errors refuse the write with 422 unless the server is lenient. Returns the
 * warnings (and, when lenient, the errors) for a `Prefer: return=OperationOutcome` response.
 */
export async function checkResource(svc: Services, resource: Resource): Promise<OperationOutcomeIssue[]> {
  const issues = await svc.validator.validate(resource, { memo: svc.requestMemo });
  if (svc.validationMode === 'strict' && issues.some((i) => i.severity === 'error' || i.severity === 'fatal')) {
    throw new FhirError(
      'unprocessable',
      issues.map((i) => ({
        message: i.diagnostics ?? '',
        severity: i.severity,
        code: i.code,
        expression: i.expression,
      })),
    );
  }
  return issues;
}
