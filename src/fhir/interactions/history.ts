import type { BundleLink } from '@medplum/fhirtypes';
import { bundle, historyEntry, withQuery } from '../bundles.js';
import { FhirError } from '../errors.js';
import { checkId } from '../ids.js';
import type { FhirRequest, FhirResponse } from '../request.js';
import { dateRange } from '../search/dates.js';
import type { Services } from '../services.js';
import { requireType } from './resource-checks.js';

/**
 * history at instance, type and system level (R4 §3.1.0.12): newest first, `_since`, `_count`, and
 * paging by a cursor on the version sequence, so pages stay put while new versions are written.
 */
export async function history(svc: Services, req: FhirRequest): Promise<FhirResponse> {
  const type = req.path.length >= 2 ? requireType(svc, req.path[0]) : undefined;
  const id = req.path.length === 3 ? checkId(req.path[1]) : undefined;
  let since: number | undefined;
  const used: [string, string][] = [];
  let count = svc.limits.defaultCount;
  let cursor: number | undefined;
  for (const [k, v] of req.query) {
    if (k === '_since') {
      const r = dateRange(v);
      if (!r || !/T/.test(v))
        throw new FhirError('invalid', { message: `_since must be an instant, not '${v}'`, expression: '_since' });
      since = r.low;
      used.push([k, v]);
    } else if (k === '_count') {
      if (!/^\d+$/.test(v))
        throw new FhirError('invalid', { message: `_count must be a non-negative integer`, expression: '_count' });
      count = Math.min(Number(v), svc.limits.maxCount);
    } else if (k === '_cursor') {
      if (!/^\d+$/.test(v)) throw new FhirError('invalid', { message: `Invalid paging cursor`, expression: '_cursor' });
      cursor = Number(v);
    } else if (k === '_at' || k === '_list') {
      throw new FhirError('invalid', { message: `${k} is not supported on history`, expression: k });
    }
  }
  if (id && !(await svc.store.current(type!, id))) throw new FhirError('not-found', `${type}/${id} is not known`);
  const { total, rows } = await svc.store.historyPage({ type, id, since, before: cursor, limit: count + 1 });
  const page = rows.slice(0, count);
  const base = `${svc.baseUrl}/${req.path.join('/')}`;
  const self: [string, string][] = [
    ...used,
    ['_count', String(count)],
    ...(cursor !== undefined ? [['_cursor', String(cursor)] as [string, string]] : []),
  ];
  const links: BundleLink[] = [
    { relation: 'self', url: withQuery(base, self) },
    ...(await firstAndLast(svc, { type, id, since }, total, count, base, used)),
  ];
  if (rows.length > count && page.length) {
    links.push({
      relation: 'next',
      url: withQuery(base, [...used, ['_count', String(count)], ['_cursor', String(page[page.length - 1].seq)]]),
    });
  }
  const entries = page.map((r) => historyEntry(svc.baseUrl, r));
  return { status: 200, resource: bundle('history', entries, links, total, svc.clock.now()) };
}

/**
 * `first` and `last` links (R4 §3.1.1.5.6 paging, for history too): pages are `count` versions each from
 * the newest, so the last holds the oldest `total mod count` (or `count`) and its cursor is the version
 * just newer than those — found counting from the oldest, so it costs a page, not the whole history.
 */
async function firstAndLast(
  svc: Services,
  q: { type?: string; id?: string; since?: number },
  total: number,
  count: number,
  base: string,
  used: [string, string][],
): Promise<BundleLink[]> {
  const paging: [string, string][] = [...used, ['_count', String(count)]];
  const first: BundleLink = { relation: 'first', url: withQuery(base, paging) };
  if (!count || total <= count) return [first, { relation: 'last', url: first.url }];
  const inLast = total % count || count;
  const cursor = await svc.store.historySeqFromOldest(q, inLast);
  if (cursor === undefined) return [first];
  return [first, { relation: 'last', url: withQuery(base, [...paging, ['_cursor', String(cursor)]]) }];
}
