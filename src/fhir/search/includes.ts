import type { SqlExecutor, SqlValue } from '../../storage/types.js';
import type { VersionRow } from '../store.js';
import type { Include } from './params.js';
import { paramId } from './param-id.js';
import { MAX_INCLUDE_HOPS, tooCostly } from './limits.js';
import { inList } from './sql-lists.js';

const COLS = 'x.rid, x.type, x.id, x.version, x.last_updated, x.deleted, x.content';

/**
 * The resources that `_include` and `_revinclude` add to a page (R4 §3.1.1.5.4): those the matches
 * refer to, and those referring to the matches; `:iterate` repeats over what was added, for at most
 * MAX_INCLUDE_HOPS hops. Each resource appears once, and never again when it is already a match.
 *
 * R4 leaves the limits to the server. Ours: at most `limit` resources added to one page. A page whose
 * includes would add more, or whose `:iterate` would go on past the last hop, is refused (400
 * too-costly, naming the include) rather than answered with a part of its includes that the client
 * could not tell from the whole: a smaller `_count` makes the page's includes fit.
 */
export async function resolveIncludes(
  db: SqlExecutor,
  includes: Include[],
  matches: VersionRow[],
  limit: number,
): Promise<VersionRow[]> {
  if (!includes.length || !matches.length) return [];
  const seen = new Set(matches.map((m) => `${m.type}/${m.id}`));
  const added: VersionRow[] = [];
  let frontier = matches;
  for (let hop = 0; frontier.length; hop++) {
    const next: VersionRow[] = [];
    for (const inc of includes) {
      if (hop > 0 && !inc.iterate) continue;
      // enough rows to find `limit - added` new ones past every one already seen (rows are distinct)
      const rows = await follow(db, inc, frontier, limit - added.length + seen.size + 1);
      const fresh = rows.filter((row) => !seen.has(`${row.type}/${row.id}`));
      if (hop === MAX_INCLUDE_HOPS && fresh.length) {
        throw tooCostly(`${nameOf(inc)}=${inc.raw} goes on for more than ${MAX_INCLUDE_HOPS} hops`, nameOf(inc));
      }
      if (added.length + fresh.length > limit) {
        throw tooCostly(
          `The includes of this page add more than ${limit} resources (at ${nameOf(inc)}=${inc.raw}): ` +
            'ask for a smaller _count',
          nameOf(inc),
        );
      }
      for (const row of fresh) seen.add(`${row.type}/${row.id}`);
      added.push(...fresh);
      next.push(...fresh);
    }
    if (hop === MAX_INCLUDE_HOPS) break;
    frontier = next;
  }
  return added;
}

function nameOf(inc: Include): string {
  return inc.name ?? (inc.reverse ? '_revinclude' : '_include');
}

function follow(db: SqlExecutor, inc: Include, frontier: VersionRow[], max: number): Promise<VersionRow[]> {
  return inc.reverse ? referring(db, inc, frontier, max) : referredTo(db, inc, frontier, max);
}

/**
 * _include: the targets of the given reference parameters of the frontier's resources of sourceType.
 * The unary + keeps `param` from choosing an index, so the few source rids drive the lookup.
 */
async function referredTo(db: SqlExecutor, inc: Include, frontier: VersionRow[], max: number): Promise<VersionRow[]> {
  const sources = frontier.filter((r) => r.type === inc.sourceType && r.rid !== undefined).map((r) => r.rid as number);
  if (!sources.length) return [];
  const ids = inc.params.map((c) => paramId(inc.sourceType, c));
  const rids = inList(sources);
  const typed = inc.targetType ? ' AND t.type = ?' : '';
  const sql = `SELECT ${COLS} FROM resources x WHERE x.rid IN (
      SELECT t.rid FROM sp_reference ref JOIN resources t ON t.type = ref.target_type AND t.id = ref.target_id
      WHERE +ref.param IN (${ids.map(() => '?').join(', ')}) AND ref.rid IN (${rids.sql})${typed})
    AND x.deleted = 0 ORDER BY x.rid LIMIT ?`;
  return db.all<VersionRow>(sql, [...ids, ...rids.params, ...(inc.targetType ? [inc.targetType] : []), max]);
}

/** _revinclude: resources of sourceType whose reference parameters point at the frontier. */
async function referring(db: SqlExecutor, inc: Include, frontier: VersionRow[], max: number): Promise<VersionRow[]> {
  const byType = new Map<string, string[]>();
  for (const r of frontier) {
    if (inc.targetType && r.type !== inc.targetType) continue;
    byType.set(r.type, [...(byType.get(r.type) ?? []), r.id]);
  }
  const ids = inc.params.map((c) => paramId(inc.sourceType, c));
  const out: VersionRow[] = [];
  const found = new Set<number>();
  for (const [type, targets] of byType) {
    const list = inList(targets);
    const params: SqlValue[] = [...ids, type, ...list.params, inc.sourceType, max];
    const rows = await db.all<VersionRow>(
      `SELECT ${COLS} FROM resources x WHERE x.rid IN (
         SELECT ref.rid FROM sp_reference ref
         WHERE ref.param IN (${ids.map(() => '?').join(', ')}) AND ref.target_type = ?
           AND ref.target_id IN (${list.sql}))
       AND x.type = ? AND x.deleted = 0 ORDER BY x.rid LIMIT ?`,
      params,
    );
    // a resource referring to matches of two types is found once per type
    for (const row of rows) {
      if (found.has(row.rid as number)) continue;
      found.add(row.rid as number);
      out.push(row);
    }
  }
  return out;
}
