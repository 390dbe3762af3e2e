import type { OperationOutcome } from '@medplum/fhirtypes';
import { versionHeaders } from '../bundles.js';
import { outcome } from '../errors.js';
import type { FhirResponse, Preferences } from '../request.js';
import type { Services } from '../services.js';
import type { WriteResult } from './write.js';

/** The answer to a write, shaped by `Prefer: return=` (R4 §3.1.0.5.2); representation is the default. */
export function writeResponse(svc: Services, result: WriteResult, prefer: Preferences): FhirResponse {
  const { row } = result;
  if (!row || row.deleted) return { status: result.status === 204 ? 204 : result.status };
  const headers = versionHeaders(svc.baseUrl, row, true);
  if (result.existing) headers.Location = `${svc.baseUrl}/${row.type}/${row.id}`;
  switch (prefer.return) {
    case 'minimal':
      return { status: result.status, headers };
    case 'OperationOutcome':
      return { status: result.status, headers, resource: writeOutcome(result) };
    default:
      return { status: result.status, headers, raw: row.content as string };
  }
}

export function writeOutcome(result: WriteResult): OperationOutcome {
  if (result.issues?.length) return { resourceType: 'OperationOutcome', issue: result.issues };
  const what = result.existing ? 'Matched an existing resource: nothing was created' : 'All OK';
  return outcome('information', 'informational', what);
}
