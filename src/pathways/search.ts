import type { Resource } from '@medplum/fhirtypes';
import { resolveTerminologyModifiers } from '../terminology/search-modifiers.js';
import { parseSearch } from '../fhir/search/params.js';
import { paramId } from '../fhir/search/param-id.js';
import { compileWhere } from '../fhir/search/sql.js';
import type { Services } from '../fhir/services.js';
import type { SqlExecutor } from '../storage/types.js';
import { osloDate } from './calendar.js';

/** An Oslo date of a date or dateTime. */
export function dateOf(v: string | undefined): string | undefined {
  return v === undefined ? undefined : v.length > 10 ? osloDate(new Date(v)) : v;
}

/**
 * Every match of a search, read in `db` (the caller's transaction sees its own writes), in the order
 * they were stored, without a page limit: a pathway has tens of Tasks, a registry period many thousands.
 */
export async function findAll<T extends Resource>(svc: Services, type: string, criteria: string, db: SqlExecutor): Promise<T[]> {
  const req = parseSearch(svc.defs, type, [...new URLSearchParams(criteria)], { defaultCount: 1, maxCount: 1 }, true);
  await resolveTerminologyModifiers(svc, req);
  const where = compileWhere(req, svc.baseUrl, svc.clock.now().getTime());
  const rows = await db.all<{ content: string }>(`SELECT r.content FROM resources r WHERE ${where.sql} ORDER BY r.rid`, where.params);
  return rows.map((r) => JSON.parse(r.content) as T);
}

/**
 * The ids of the `targetType` resources that the matches of a search point to through the reference
 * parameter `via` (e.g. the CarePlans of the Tasks matching `criteria`, via `based-on`) — one set-based
 * query over the search index: no matching resource is read or parsed.
 */
export async function referencedBy(svc: Services, type: string, criteria: string, via: string, targetType: string, db: SqlExecutor): Promise<string[]> {
  const req = parseSearch(svc.defs, type, [...new URLSearchParams(criteria)], { defaultCount: 1, maxCount: 1 }, true);
  const where = compileWhere(req, svc.baseUrl, svc.clock.now().getTime());
  const rows = await db.all<{ id: string }>(
    `SELECT DISTINCT target_id AS id FROM sp_reference WHERE param = ? AND target_type = ? AND rid IN (SELECT r.rid FROM resources r WHERE ${where.sql})`,
    [paramId(type, via), targetType, ...where.params],
  );
  return rows.map((r) => r.id);
}
