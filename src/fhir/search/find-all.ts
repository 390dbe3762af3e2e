import type { Resource } from '@medplum/fhirtypes';
import type { SqlExecutor } from '../../storage/types.js';
import type { Services } from '../services.js';
import { runSearch } from './execute.js';
import { paramId } from './param-id.js';
import { parseSearch } from './params.js';
import { compileWhere } from './sql.js';

/** The most matches `searchAll` returns: canonical resources by url, code systems by identifier. */
const MAX_MATCHES = 10_000;

/**
 * Every match of a search (up to 10,000) as stored JSON, in the search's order: the lookups of
 * definitions by `url`, `identifier` or `source-system` that terminology and the loaders make.
 */
export async function searchAll(
  svc: Services,
  type: string,
  query: [string, string][],
  db?: SqlExecutor,
): Promise<string[]> {
  const req = parseSearch(svc.defs, type, query, { defaultCount: MAX_MATCHES, maxCount: MAX_MATCHES }, true);
  req.total = 'none';
  return (await runSearch(svc, req, db)).rows.map((r) => r.content as string);
}

/**
 * Every match of a search, read in `db` (the caller's transaction sees its own writes), in the order
 * they were stored, without a page limit: a pathway has tens of Tasks, a registry period many thousands.
 * Criteria are a query string (`based-on=CarePlan/1&status=completed`).
 */
export async function findAll<T extends Resource>(
  svc: Services,
  type: string,
  criteria: string,
  db: SqlExecutor,
): Promise<T[]> {
  const req = parseSearch(svc.defs, type, [...new URLSearchParams(criteria)], { defaultCount: 1, maxCount: 1 }, true);
  for (const hook of svc.searchHooks) await hook(svc, req);
  const where = compileWhere(req, svc.baseUrl, svc.clock.now().getTime());
  const rows = await db.all<{ content: string }>(
    `SELECT r.content FROM resources r WHERE ${where.sql} ORDER BY r.rid`,
    where.params,
  );
  return rows.map((r) => JSON.parse(r.content) as T);
}

/**
 * The ids of the `targetType` resources that the matches of a search point to through the reference
 * parameter `via` (e.g. the CarePlans of the Tasks matching `criteria`, via `based-on`) — one set-based
 * query over the search index: no matching resource is read or parsed.
 */
export async function referencedBy(
  svc: Services,
  type: string,
  criteria: string,
  via: string,
  targetType: string,
  db: SqlExecutor,
): Promise<string[]> {
  const req = parseSearch(svc.defs, type, [...new URLSearchParams(criteria)], { defaultCount: 1, maxCount: 1 }, true);
  const where = compileWhere(req, svc.baseUrl, svc.clock.now().getTime());
  const rows = await db.all<{ id: string }>(
    `SELECT DISTINCT target_id AS id FROM sp_reference
     WHERE param = ? AND target_type = ? AND rid IN (SELECT r.rid FROM resources r WHERE ${where.sql})`,
    [paramId(type, via), targetType, ...where.params],
  );
  return rows.map((r) => r.id);
}
