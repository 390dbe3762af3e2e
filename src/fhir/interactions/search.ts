import type { BundleEntry, BundleLink, Resource } from '@medplum/fhirtypes';
import { bundle, fullUrl, withQuery } from '../bundles.js';
import { parsePrefer, type FhirRequest, type FhirResponse } from '../request.js';
import { runSearch } from '../search/execute.js';
import { parseSearch, type SearchRequest } from '../search/params.js';
import type { Services } from '../services.js';
import { applySummary } from '../summary.js';
import { requireType } from './resource-checks.js';

/** search-type (R4 §3.1.1) by GET or by POST [type]/_search with a form body. */
export async function searchType(svc: Services, req: FhirRequest): Promise<FhirResponse> {
  const type = requireType(svc, req.path[0]);
  const query = [...req.query];
  if (req.method === 'POST' && typeof req.body === 'string') query.push(...new URLSearchParams(req.body));
  const strict = parsePrefer(req.headers.prefer).handling === 'strict';
  const sreq = parseSearch(svc.defs, type, query, svc.limits, strict);
  const result = await runSearch(svc, sreq);

  const entries: BundleEntry[] = result.rows.map((row) => {
    let resource = JSON.parse(row.content as string) as Resource;
    if (sreq.summary || sreq.elements) resource = applySummary(svc.defs, resource, sreq.summary, sreq.elements);
    return { fullUrl: fullUrl(svc.baseUrl, row.type, row.id), resource, search: { mode: 'match' } };
  });
  if (sreq.unknown.length) {
    entries.push({
      resource: {
        resourceType: 'OperationOutcome',
        issue: sreq.unknown.map((u) => ({ severity: 'warning', code: 'not-supported', diagnostics: `Unknown search parameter '${u}' was ignored`, expression: [u] })),
      },
      search: { mode: 'outcome' },
    });
  }
  const base = `${svc.baseUrl}/${type}`;
  const links: BundleLink[] = [{ relation: 'self', url: withQuery(base, usedParams(sreq, sreq.offset)) }];
  if (result.more) links.push({ relation: 'next', url: withQuery(base, usedParams(sreq, sreq.offset + sreq.count)) });
  if (sreq.offset > 0) links.push({ relation: 'previous', url: withQuery(base, usedParams(sreq, Math.max(0, sreq.offset - sreq.count))) });
  return { status: 200, resource: bundle('searchset', entries, links, result.total, svc.clock.now()) };
}

/** The parameters that shaped the result, as the self link shows them (R4 §3.1.1.3). */
function usedParams(s: SearchRequest, offset: number): [string, string][] {
  const out: [string, string][] = s.criteria.map((c) => [c.modifier ? `${c.code}:${c.modifier}` : c.code, c.values.join(',')]);
  if (s.sort.length) out.push(['_sort', s.sort.map((k) => (k.descending ? '-' : '') + k.code).join(',')]);
  if (s.summary) out.push(['_summary', s.summary]);
  if (s.elements) out.push(['_elements', s.elements.join(',')]);
  if (s.total !== 'accurate') out.push(['_total', s.total]);
  out.push(['_count', String(s.count)]);
  if (offset) out.push(['_offset', String(offset)]);
  return out;
}
