import type { SqlExecutor } from '../../storage/types.js';
import { FhirError } from '../errors.js';
import type { Services } from '../services.js';
import type { VersionRow } from '../store.js';
import { parseSearch, type SearchRequest } from './params.js';
import { compileCount, compileOrder, compileWhere } from './sql.js';
import { resolveIncludes } from './includes.js';

export interface SearchResult {
  rows: VersionRow[];
  /** Resources added by _include / _revinclude. */
  included: VersionRow[];
  total?: number;
  /** Whether there are matches after this page. */
  more: boolean;
}

export async function runSearch(
  svc: Services,
  req: SearchRequest,
  db: SqlExecutor = svc.store.storage,
): Promise<SearchResult> {
  for (const hook of svc.searchHooks) await hook(svc, req);
  const where = compileWhere(req, svc.baseUrl, svc.clock.now().getTime());
  let total: number | undefined;
  if (req.total !== 'none' || req.summary === 'count') {
    const count = compileCount(req, svc.baseUrl, svc.clock.now().getTime());
    const row = await db.get<{ n: number }>(count.sql, count.params);
    total = Number(row?.n ?? 0);
  }
  if (req.summary === 'count' || req.count === 0) return { rows: [], included: [], total, more: false };
  const order = compileOrder(req);
  // one row more than the page tells whether a next page exists without a second count
  const rows = await db.all<VersionRow>(
    `SELECT r.rid, r.type, r.id, r.version, r.last_updated, r.deleted, r.content FROM resources r WHERE ${where.sql}
     ORDER BY ${order.sql} LIMIT ? OFFSET ?`,
    [...where.params, ...order.params, req.count + 1, req.offset],
  );
  const more = rows.length > req.count;
  const page = more ? rows.slice(0, req.count) : rows;
  const included = await resolveIncludes(db, req.includes, page, svc.limits.maxCount);
  return { rows: page, included, total, more };
}

/**
 * The resources matching a conditional interaction's criteria (If-None-Exist, conditional update,
 * delete and references). Unknown parameters are refused: ignoring one could match everything.
 */
export async function findMatches(
  svc: Services,
  type: string,
  criteria: string,
  db: SqlExecutor,
): Promise<VersionRow[]> {
  const query = [...new URLSearchParams(criteria)];
  if (!query.length)
    throw new FhirError('invalid', { message: `Conditional criteria for ${type} are empty`, expression: type });
  const req = parseSearch(svc.defs, type, query, { defaultCount: 2, maxCount: 2 }, true);
  req.total = 'none';
  req.includes = []; // nobody reads them here
  // a patient-scoped token's conditions match only its patient's resources
  svc.access.limitSearch(svc, type, req.criteria);
  // two are enough to tell none, one and several apart; also overrides a `_count=0` in the criteria,
  // which would otherwise look like "no match" and let a conditional create duplicate
  req.count = 2;
  req.offset = 0;
  return (await runSearch(svc, req, db)).rows;
}
