import { placeholders, type SqlExecutor, type SqlValue } from '../../storage/types.js';
import type { VersionRow } from '../store.js';
import type { Include } from './params.js';
import { paramId } from './param-id.js';

const COLS = 'x.rid, x.type, x.id, x.version, x.last_updated, x.deleted, x.content';
/** `:iterate` follows at most this many hops (R4 leaves the depth to the server). */
const MAX_HOPS = 4;

/**
 * The resources that `_include` and `_revinclude` add to a page (R4 §3.1.1.5.4): those the matches
 * refer to, and those referring to the matches; `:iterate` repeats over what was added. Each resource
 * appears once, and never again when it is already a match. At most `limit` are added.
 */
export async function resolveIncludes(db: SqlExecutor, includes: Include[], matches: VersionRow[], limit: number): Promise<VersionRow[]> {
  if (!includes.length || !matches.length) return [];
  const seen = new Set(matches.map((m) => `${m.type}/${m.id}`));
  const added: VersionRow[] = [];
  let frontier = matches;
  for (let hop = 0; hop < MAX_HOPS && frontier.length && added.length < limit; hop++) {
    const next: VersionRow[] = [];
    for (const inc of includes) {
      if (hop > 0 && !inc.iterate) continue;
      const rows = inc.reverse ? await referring(db, inc, frontier) : await referredTo(db, inc, frontier);
      for (const row of rows) {
        const key = `${row.type}/${row.id}`;
        if (seen.has(key) || added.length >= limit) continue;
        seen.add(key);
        added.push(row);
        next.push(row);
      }
    }
    frontier = next;
  }
  return added;
}

/**
 * _include: the targets of the given reference parameters of the frontier's resources of sourceType.
 * The unary + keeps `param` from choosing an index, so the few source rids drive the lookup.
 */
async function referredTo(db: SqlExecutor, inc: Include, frontier: VersionRow[]): Promise<VersionRow[]> {
  const sources = frontier.filter((r) => r.type === inc.sourceType && r.rid !== undefined).map((r) => r.rid as number);
  if (!sources.length) return [];
  const params: SqlValue[] = [...inc.params.map((c) => paramId(inc.sourceType, c)), ...sources];
  let sql = `SELECT ${COLS} FROM sp_reference ref JOIN resources x ON x.type = ref.target_type AND x.id = ref.target_id
    WHERE +ref.param IN (${placeholders(inc.params)}) AND ref.rid IN (${placeholders(sources)}) AND x.deleted = 0`;
  if (inc.targetType) {
    sql += ' AND x.type = ?';
    params.push(inc.targetType);
  }
  return db.all<VersionRow>(`${sql} ORDER BY x.rid`, params);
}

/** _revinclude: resources of sourceType whose reference parameters point at the frontier. */
async function referring(db: SqlExecutor, inc: Include, frontier: VersionRow[]): Promise<VersionRow[]> {
  const byType = new Map<string, string[]>();
  for (const r of frontier) {
    if (inc.targetType && r.type !== inc.targetType) continue;
    byType.set(r.type, [...(byType.get(r.type) ?? []), r.id]);
  }
  const out: VersionRow[] = [];
  for (const [type, ids] of byType) {
    const params: SqlValue[] = [...inc.params.map((c) => paramId(inc.sourceType, c)), type, ...ids, inc.sourceType];
    out.push(
      ...(await db.all<VersionRow>(
        `SELECT ${COLS} FROM sp_reference ref JOIN resources x ON x.rid = ref.rid
         WHERE ref.param IN (${placeholders(inc.params)}) AND ref.target_type = ? AND ref.target_id IN (${placeholders(ids)})
           AND x.type = ? AND x.deleted = 0 ORDER BY x.rid`,
        params,
      )),
    );
  }
  return out;
}
