import type { BundleEntry, BundleLink, Resource } from '@medplum/fhirtypes';
import { bundle, fullUrl, withQuery } from '../bundles.js';
import { parsePrefer, type FhirRequest, type FhirResponse } from '../request.js';
import { runSearch } from '../search/execute.js';
import { parseSearch, type Criterion, type SearchRequest } from '../search/params.js';
import { FhirError } from '../errors.js';
import { checkId } from '../ids.js';
import type { Services } from '../services.js';
import { applySummary } from '../summary.js';
import { requireType } from './resource-checks.js';

/** search-type (R4 §3.1.1) by GET or by POST [type]/_search with a form body. */
export async function searchType(svc: Services, req: FhirRequest): Promise<FhirResponse> {
  const type = requireType(svc, req.path[0]);
  const query = [...req.query];
  if (req.method === 'POST' && typeof req.body === 'string') query.push(...new URLSearchParams(req.body));
  return search(svc, req, type, query, `${svc.baseUrl}/${type}`);
}

/**
 * Compartment search, `Patient/123/Observation` (R4 §3.1.1.6): the type's search, limited to the
 * resources whose compartment reference parameters point at the compartment's resource.
 */
export async function searchCompartment(svc: Services, req: FhirRequest): Promise<FhirResponse> {
  const [compartmentType, id, type] = [
    requireType(svc, req.path[0]),
    checkId(req.path[1]),
    requireType(svc, req.path[2]),
  ];
  const compartment = svc.defs.compartments.get(compartmentType);
  if (!compartment) throw new FhirError('not-found', `There is no ${compartmentType} compartment`);
  const params = compartment.members.get(type);
  if (!params) throw new FhirError('not-found', `${type} is not in the ${compartmentType} compartment`);
  const membership: Criterion = {
    code: '_compartment',
    type: 'special',
    values: [],
    compartment: { params, targetType: compartmentType, id },
  };
  return search(svc, req, type, [...req.query], `${svc.baseUrl}/${compartmentType}/${id}/${type}`, membership);
}

async function search(
  svc: Services,
  req: FhirRequest,
  type: string,
  query: [string, string][],
  base: string,
  extra?: Criterion,
): Promise<FhirResponse> {
  const strict = parsePrefer(req.headers.prefer).handling === 'strict';
  const sreq = parseSearch(svc.defs, type, query, svc.limits, strict);
  if (extra) sreq.criteria.unshift(extra);
  svc.access.limitSearch(svc, type, sreq.criteria);
  // pages of one search share a snapshot: resources created after the first page never shift them
  sreq.snapshot ??= await svc.store.lastRid();
  const result = await runSearch(svc, sreq);

  const entries: BundleEntry[] = result.rows.map((row) => {
    let resource = JSON.parse(row.content as string) as Resource;
    if (sreq.summary || sreq.elements) resource = applySummary(svc.defs, resource, sreq.summary, sreq.elements);
    return { fullUrl: fullUrl(svc.baseUrl, row.type, row.id), resource, search: { mode: 'match' } };
  });
  for (const row of await svc.access.visibleIncludes(svc, result.included)) {
    entries.push({
      fullUrl: fullUrl(svc.baseUrl, row.type, row.id),
      resource: JSON.parse(row.content as string) as Resource,
      search: { mode: 'include' },
    });
  }
  if (sreq.unknown.length) {
    entries.push({
      resource: {
        resourceType: 'OperationOutcome',
        issue: sreq.unknown.map((u) => ({
          severity: 'warning',
          code: 'not-supported',
          diagnostics: `Unknown search parameter '${u}' was ignored`,
          expression: [u],
        })),
      },
      search: { mode: 'outcome' },
    });
  }
  const links = searchLinks(base, sreq, result.more, result.total);
  return { status: 200, resource: bundle('searchset', entries, links, result.total, svc.clock.now()) };
}

/**
 * The paging links (R4 §3.1.1.5.6 and §2.36.0.1 Bundle.link): self; first always, as the first page
 * is always known; next and previous around this page; last only when the total is known (not with
 * `_total=none`), at the offset of the page that holds the last match. Paging links keep the snapshot,
 * so every page of one search sees the same matches.
 */
function searchLinks(base: string, sreq: SearchRequest, more: boolean, total: number | undefined): BundleLink[] {
  const links: BundleLink[] = [{ relation: 'self', url: withQuery(base, usedParams(sreq, sreq.offset)) }];
  const paging = (offset: number) =>
    withQuery(base, [...usedParams(sreq, offset), ['_snapshot', String(sreq.snapshot)]]);
  links.push({ relation: 'first', url: paging(0) });
  if (more) links.push({ relation: 'next', url: paging(sreq.offset + sreq.count) });
  if (sreq.offset > 0) links.push({ relation: 'previous', url: paging(Math.max(0, sreq.offset - sreq.count)) });
  // _count=0 asks for the total alone: there are no pages, so no last one
  if (total !== undefined && sreq.count > 0) {
    links.push({ relation: 'last', url: paging(total > 0 ? Math.floor((total - 1) / sreq.count) * sreq.count : 0) });
  }
  return links;
}

/** The parameters that shaped the result, as the self link shows them (R4 §3.1.1.3). */
function usedParams(s: SearchRequest, offset: number): [string, string][] {
  const out: [string, string][] = s.criteria
    .filter((c) => !c.compartment && !c.implicit)
    .map((c) => [c.raw ?? (c.modifier ? `${c.code}:${c.modifier}` : c.code), c.rawValue ?? c.values.join(',')]);
  for (const inc of s.includes)
    out.push([`_${inc.reverse ? 'rev' : ''}include${inc.iterate ? ':iterate' : ''}`, inc.raw]);
  if (s.sort.length) out.push(['_sort', s.sort.map((k) => (k.descending ? '-' : '') + k.code).join(',')]);
  if (s.summary) out.push(['_summary', s.summary]);
  if (s.elements) out.push(['_elements', s.elements.join(',')]);
  if (s.total !== 'accurate') out.push(['_total', s.total]);
  out.push(['_count', String(s.count)]);
  if (offset) out.push(['_offset', String(offset)]);
  return out;
}
