import type { Resource } from '@medplum/fhirtypes';
import { placeholders, type SqlExecutor } from '../../storage/types.js';
import { FhirError } from '../errors.js';
import type { Services } from '../services.js';
import { paramId } from './param-id.js';
import { parseSearch } from './params.js';
import { compileWhere, type CompiledWhere } from './sql.js';

/**
 * Named queries for reading many resources at once in one snapshot: the registry report and the
 * quality indicators walk thousands of pathways a batch at a time, where a search page would read
 * each resource through a bundle. The SQL stays here, beside the search compiler it builds on.
 */

/** A search with no paging, the registered hooks applied (terminology modifiers), as a WHERE clause. */
async function whereOf(svc: Services, type: string, query: [string, string][]): Promise<CompiledWhere> {
  const req = parseSearch(svc.defs, type, query, { defaultCount: 1, maxCount: 1 }, true);
  if (req.includes.length) throw new FhirError('invalid', `_include has no place in a set of ${type} ids`);
  for (const hook of svc.searchHooks) await hook(svc, req);
  return compileWhere(req, svc.baseUrl, svc.clock.now().getTime());
}

/** The ids of every match of a search, in id order, from the index alone (no resource is read). */
export async function matchingIds(
  svc: Services,
  type: string,
  query: [string, string][],
  db: SqlExecutor,
): Promise<string[]> {
  const where = await whereOf(svc, type, query);
  const rows = await db.all<{ id: string }>(
    `SELECT r.id AS id FROM resources r WHERE ${where.sql} ORDER BY r.id`,
    where.params,
  );
  return rows.map((r) => r.id);
}

/** A match of a search with the ids its references lead to: `targets[0]` from the match, then onwards. */
export interface ChainedMatch {
  rid: number;
  targets: string[];
}

/** One step of a chain: a reference parameter of the resource reached so far, to a target type. */
export interface Hop {
  type: string;
  param: string;
  targetType: string;
}

/**
 * The matches of a search, each with the ids reached through two references (e.g. a Task's CarePlan,
 * then that CarePlan's Patient), ordered by the last id, then the first, then the match: a caller can
 * walk the result one patient at a time. Only current, not deleted intermediate resources count.
 */
export async function matchesWithChain(
  svc: Services,
  type: string,
  query: [string, string][],
  [first, second]: [Hop, Hop],
  db: SqlExecutor,
): Promise<ChainedMatch[]> {
  const where = await whereOf(svc, type, query);
  // unary + keeps SQLite from looking the second hop up through the (param, …) index, row by row
  const rows = await db.all<{ rid: number | string; first: string; second: string }>(
    `SELECT r.rid AS rid, b.target_id AS first, s.target_id AS second
       FROM resources r
       JOIN sp_reference b ON b.rid = r.rid AND b.param = ? AND b.target_type = ?
       JOIN resources c ON c.type = ? AND c.id = b.target_id AND c.deleted = 0
       JOIN sp_reference s ON s.rid = c.rid AND +s.param = ? AND s.target_type = ?
      WHERE ${where.sql}
      ORDER BY s.target_id, b.target_id, r.rid`,
    [
      paramId(first.type, first.param),
      first.targetType,
      first.targetType,
      paramId(second.type, second.param),
      second.targetType,
      ...where.params,
    ],
  );
  return rows.map((r) => ({ rid: Number(r.rid), targets: [r.first, r.second] }));
}

/** The current, not deleted, resources of one type with these ids (missing ids are left out). */
export async function currentByIds<T extends Resource>(
  db: SqlExecutor,
  type: string,
  ids: readonly (string | undefined)[],
): Promise<Map<string, T>> {
  const out = new Map<string, T>();
  for (const [id, content] of await currentContentsByIds(db, type, ids)) out.set(id, JSON.parse(content) as T);
  return out;
}

/**
 * As `currentByIds`, the stored JSON text unparsed: for a reader that hands the rows to another
 * thread (the quality indicators' evaluation worker parses them there).
 */
export async function currentContentsByIds(
  db: SqlExecutor,
  type: string,
  ids: readonly (string | undefined)[],
): Promise<Map<string, string>> {
  const unique = [...new Set(ids.filter((id): id is string => Boolean(id)))];
  const out = new Map<string, string>();
  if (!unique.length) return out;
  const rows = await db.all<{ id: string; content: string }>(
    `SELECT id, content FROM resources WHERE type = ? AND deleted = 0 AND id IN (${placeholders(unique)})`,
    [type, ...unique],
  );
  for (const r of rows) out.set(r.id, r.content);
  return out;
}

/**
 * As `currentContentsByIds`, with the JSON text of some top-level elements of each resource taken
 * out by the database (SQLite's json_extract, PostgreSQL's ->>), so that a reader needing only those
 * does not parse the whole resource. An element absent is null.
 */
export async function currentContentsWithElements(
  db: SqlExecutor,
  kind: 'sqlite' | 'postgres',
  type: string,
  ids: readonly string[],
  elements: readonly string[],
): Promise<Map<string, { content: string; elements: (string | null)[] }>> {
  const unique = [...new Set(ids)];
  const out = new Map<string, { content: string; elements: (string | null)[] }>();
  if (!unique.length) return out;
  for (const e of elements) if (!/^[a-zA-Z]+$/.test(e)) throw new Error(`not an element name: ${e}`);
  // SQLite gives an array's or object's JSON text; the elements read this way are arrays or objects
  const pick = (e: string) => (kind === 'sqlite' ? `json_extract(content, '$.${e}')` : `(content::jsonb)->>'${e}'`);
  const rows = await db.all<Record<string, string | null>>(
    `SELECT id, content, ${elements.map((e, i) => `${pick(e)} AS e${i}`).join(', ')}
       FROM resources WHERE type = ? AND deleted = 0 AND id IN (${placeholders(unique)})`,
    [type, ...unique],
  );
  for (const r of rows)
    out.set(r.id as string, { content: r.content as string, elements: elements.map((_e, i) => r[`e${i}`] ?? null) });
  return out;
}

/** Which resources point at a set of targets: `type.via` → `targetType/targetIds`, optionally by status. */
export interface Referrers {
  type: string;
  via: string;
  targetType: string;
  targetIds: readonly string[];
  /** Only those whose `status` token is this code (found from the covering index, no row read). */
  status?: string;
}

/** A resource pointing at one of the targets, with its row id. */
export interface Referrer<T> {
  target: string;
  rid: number;
  resource: T;
}

/**
 * The current resources that point at the targets, in the order they were stored. The referrers'
 * row ids come from the reference index alone and, when a status is asked for, the status row from
 * the covering (param, code, system, rid) index (a `code` token has no system); only then are their
 * rows read. MATERIALIZED keeps the planner from reading every row before its status.
 */
export async function referrersOf<T extends Resource>(db: SqlExecutor, q: Referrers): Promise<Referrer<T>[]> {
  return (await referrerContents(db, q)).map((r) => ({
    target: r.target,
    rid: r.rid,
    resource: JSON.parse(r.content) as T,
  }));
}

/** As `referrersOf`, the stored JSON text unparsed (see `currentContentsByIds`). */
export async function referrerContents(
  db: SqlExecutor,
  q: Referrers,
): Promise<{ target: string; rid: number; content: string }[]> {
  if (!q.targetIds.length) return [];
  const byStatus = `AND EXISTS (SELECT 1 FROM sp_token t
                      WHERE t.param = ? AND t.code = ? AND t.system IS NULL AND t.rid = b.rid)`;
  const rows = await db.all<{ target: string; rid: number | string; content: string }>(
    `WITH refs AS MATERIALIZED (
       SELECT b.target_id AS target, b.rid AS rid FROM sp_reference b
        WHERE b.param = ? AND b.target_type = ? AND b.target_id IN (${placeholders(q.targetIds)})
              ${q.status === undefined ? '' : byStatus})
     SELECT refs.target AS target, r.rid AS rid, r.content AS content
       FROM refs JOIN resources r ON r.rid = refs.rid AND r.deleted = 0
      ORDER BY r.rid`,
    [
      paramId(q.type, q.via),
      q.targetType,
      ...q.targetIds,
      ...(q.status === undefined ? [] : [paramId(q.type, 'status'), q.status]),
    ],
  );
  return rows.map((r) => ({ target: r.target, rid: Number(r.rid), content: r.content }));
}
