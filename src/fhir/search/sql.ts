import { FhirError } from '../errors.js';
import { placeholders, type SqlValue } from '../../storage/types.js';
import { dateRange } from './dates.js';
import { TABLE_OF } from './extract.js';
import { paramId } from './param-id.js';
import { DATE_CLASSES, dateParamIds, indexIds } from './date-classes.js';
import { splitPrefix, unescape, type Criterion, type SearchRequest } from './params.js';
import { bad, MATCHERS, rangeSql, type CompiledWhere, type Ctx } from './matchers.js';
import { orValues } from './or-values.js';
import { allOf, anyOf, inList } from './sql-lists.js';
import { MAX_BOUND_VALUES, tooCostly } from './limits.js';

export type { CompiledWhere } from './matchers.js';

/**
 * Compiles a parsed search into one SQL WHERE clause over `resources r`. Each criterion selects rids
 * from its index table (`r.rid IN (SELECT rid FROM sp_x WHERE …)`), so every lookup is an index range
 * scan; AND is repeated criteria, OR is the values inside one; chains and _has nest the same form over
 * another `resources` alias. All values are bound parameters. Long lists of conditions are balanced
 * trees and equal values IN lists (sql-lists.ts), so no search is deeper than SQLite allows.
 */

/** `alias.rid IN (sub)`, keeping the subquery for `compileCount`. */
function ridIn(alias: string, sql: string, params: SqlValue[]): CompiledWhere {
  return { sql: `${alias}.rid IN (${sql})`, params, sub: { sql, params } };
}

export function compileWhere(req: SearchRequest, baseUrl: string, now: number): CompiledWhere {
  const ctx: Ctx = { type: req.resourceType, baseUrl, now, alias: 'r', depth: 0 };
  const w = criteriaSql(req.criteria, ctx);
  if (req.snapshot !== undefined) {
    w.sql += ' AND r.rid <= ?';
    w.params.push(req.snapshot);
  }
  return w;
}

/** The resource is of the context's type, not deleted, and meets every criterion (AND). */
function criteriaSql(criteria: Criterion[], ctx: Ctx): CompiledWhere {
  const a = ctx.alias;
  // An index lookup's parameter id already implies the type. Leaving `type = ?` out then lets the
  // planner drive the query from that lookup instead of scanning every resource of the type.
  // Deleted resources have no index rows, so neither is `deleted = 0` needed then.
  const parts = criteria.some(drivesByIndex) ? [] : [`${a}.type = ?`, `${a}.deleted = 0`];
  const params: SqlValue[] = criteria.some(drivesByIndex) ? [] : [ctx.type];
  for (const { where: w } of planCriteria(criteria, ctx)) {
    parts.push(w.sql);
    params.push(...w.params);
  }
  return { sql: parts.length ? allOf(parts) : '1 = 1', params };
}

/**
 * COUNT(*) of a search. When every criterion is a positive index lookup, the count is taken from the
 * index alone (an intersection of the lookups), without reading a single resource row.
 */
export function compileCount(req: SearchRequest, baseUrl: string, now: number): CompiledWhere {
  const ctx: Ctx = { type: req.resourceType, baseUrl, now, alias: 'r', depth: 0 };
  const parts = planCriteria(req.criteria, ctx).map((p) => p.where);
  const snapshot =
    req.snapshot !== undefined
      ? { sql: ' WHERE x.rid <= ?', params: [req.snapshot] as SqlValue[] }
      : { sql: '', params: [] as SqlValue[] };
  if (parts.length && parts.every((p) => p.sub)) {
    const subs = parts.map((p) => p.sub!);
    const from =
      subs.length === 1
        ? subs[0].sql
        : subs.map((s) => `SELECT rid FROM (${s.sql}) s${subs.indexOf(s)}`).join(' INTERSECT ');
    const count = subs.length === 1 ? 'COUNT(DISTINCT x.rid)' : 'COUNT(*)';
    return {
      sql: `SELECT ${count} AS n FROM (${from}) x${snapshot.sql}`,
      params: [...subs.flatMap((s) => s.params), ...snapshot.params],
    };
  }
  const w = compileWhere(req, baseUrl, now);
  return { sql: `SELECT COUNT(*) AS n FROM resources r WHERE ${w.sql}`, params: w.params };
}

/**
 * Each criterion's SQL, with the two bounds of a date range compiled as one lookup. A search binding
 * more than MAX_BOUND_VALUES values is refused, naming the parameter that went over.
 */
function planCriteria(criteria: Criterion[], ctx: Ctx): { criterion: Criterion; where: CompiledWhere }[] {
  const ranges = dateRanges(criteria, ctx);
  const merged = new Set(ranges.flatMap((r) => r.criteria));
  const planned = [
    ...ranges.map((r) => ({ criterion: r.criteria[0], where: r.where })),
    ...criteria.filter((c) => !merged.has(c)).map((c) => ({ criterion: c, where: criterionSql(c, ctx) })),
  ];
  let bound = 0;
  for (const { criterion: c, where } of planned) {
    bound += where.params.length;
    if (ctx.depth === 0 && bound > MAX_BOUND_VALUES) {
      const name = c.raw ?? c.code;
      throw tooCostly(`The search binds more than ${MAX_BOUND_VALUES} values by '${name}': ask for fewer values`, name);
    }
  }
  return planned;
}

/**
 * A date parameter given as a range (`due=ge2026-03-10&due=lt2026-03-11`) matches resources with one
 * value that meets both bounds (documented in the CapabilityStatement; for single-valued dates this is
 * the same as matching each bound on its own). The lookup index-scans, per span class, only the rows
 * whose low lies in [X − maxSpan, Y], so it costs what the range holds, not what lies before Y.
 */
function dateRanges(criteria: Criterion[], ctx: Ctx): { criteria: Criterion[]; where: CompiledWhere }[] {
  const out: { criteria: Criterion[]; where: CompiledWhere }[] = [];
  const dates = criteria.filter(
    (c) => c.type === 'date' && !c.modifier && !c.chain && c.values.length === 1 && c.code !== '_lastUpdated',
  );
  const used = new Set<Criterion>();
  for (const lower of dates) {
    const [lp, lv] = splitPrefix(lower.values[0]);
    if (used.has(lower) || (lp !== 'ge' && lp !== 'gt' && lp !== 'sa')) continue;
    const upper = dates.find(
      (u) => !used.has(u) && u.code === lower.code && ['le', 'lt', 'eb'].includes(splitPrefix(u.values[0])[0]),
    );
    if (!upper) continue;
    const [up, uv] = splitPrefix(upper.values[0]);
    const from = dateRange(lv);
    const to = dateRange(uv);
    if (!from || !to) continue; // malformed: the criteria themselves report it
    used.add(lower).add(upper);
    const l = rangeSql(lp, from.low, from.high, ctx.now, 'low', 'high');
    const u = rangeSql(up, to.low, to.high, ctx.now, 'low', 'high');
    const parts: string[] = [];
    const params: SqlValue[] = [];
    dateParamIds(ctx.type, lower.code).forEach((id, i) => {
      const bounded = Number.isFinite(DATE_CLASSES[i].maxSpan);
      parts.push(
        `SELECT rid FROM sp_date WHERE param = ?${bounded ? ' AND low >= ?' : ''} AND low <= ? AND (${l.sql}) AND (${u.sql})`,
      );
      params.push(id, ...(bounded ? [from.low - DATE_CLASSES[i].maxSpan] : []), to.high, ...l.params, ...u.params);
    });
    out.push({ criteria: [lower, upper], where: ridIn(ctx.alias, parts.join(' UNION ALL '), params) });
  }
  return out;
}

/** Whether a criterion selects by a positive lookup in an index table (`rid IN (… WHERE param = id …)`). */
function drivesByIndex(c: Criterion): boolean {
  if (c.has || c.code === '_id' || c.code === '_lastUpdated') return false;
  return c.modifier !== 'not' && c.modifier !== 'missing';
}

/** A subquery context over another `resources` row, of another type. */
function nested(ctx: Ctx, type: string): Ctx {
  return { ...ctx, type, alias: `t${ctx.depth + 1}`, depth: ctx.depth + 1 };
}

function criterionSql(c: Criterion, ctx: Ctx): CompiledWhere {
  const a = ctx.alias;
  if (c.chain) return chainSql(c, ctx);
  if (c.has) return hasSql(c, ctx);
  if (c.compartment) {
    const { params: codes, targetType, id } = c.compartment;
    return ridIn(
      a,
      `SELECT rid FROM sp_reference WHERE param IN (${placeholders(codes)}) AND target_type = ? AND target_id = ?`,
      [...codes.map((code) => paramId(ctx.type, code)), targetType, id],
    );
  }
  if (c.modifier === 'of-type' || c.modifier === 'identifier') return modifierTokenSql(c, ctx);
  if (c.components && c.modifier !== 'missing') return compositeSql(c, ctx);
  if (c.code === '_id') return builtinId(c, a);
  if (c.code === '_lastUpdated') return builtinLastUpdated(c, ctx.now, a);
  const table = TABLE_OF[c.type] ?? (c.components ? 'sp_token' : undefined);
  if (!table)
    throw new FhirError('invalid', {
      message: `Search by ${c.type} parameter '${c.code}' is not supported`,
      expression: c.code,
    });
  if (c.modifier === 'missing') {
    const not = c.values[0] === 'true' ? 'NOT ' : '';
    // a composite is present when its first component is
    const [t, code] = c.components ? [TABLE_OF[c.components[0]], `${c.code}$0`] : [table, c.code];
    const ids = indexIds(ctx.type, code, c.type);
    return { sql: `${a}.rid ${not}IN (SELECT rid FROM ${t} WHERE param IN (${placeholders(ids)}))`, params: ids };
  }
  const ids = indexIds(ctx.type, c.code, c.type);
  const ors = orValues(c.values.map((raw) => MATCHERS[c.type](raw, c, ctx)));
  const params: SqlValue[] = [...ids, ...ors.params];
  // :not is the set complement (R4 §3.1.1.4.9: resources without a matching value, or without a value)
  const lookup = `SELECT rid FROM ${table} WHERE param IN (${placeholders(ids)}) AND ${ors.sql}`;
  return c.modifier === 'not' ? { sql: `${a}.rid NOT IN (${lookup})`, params } : ridIn(a, lookup, params);
}

/**
 * A composite value `a$b` (R4 §3.1.1.4.8): component j's rows (`code$j`) must match part j, all with
 * the same grp, i.e. from the same root element. Nested EXISTS keep each part's columns unambiguous.
 */
function compositeSql(c: Criterion, ctx: Ctx): CompiledWhere {
  const types = c.components!;
  const ors: string[] = [];
  const params: SqlValue[] = [];
  for (const raw of c.values) {
    const parts = splitDollar(raw);
    if (parts.length !== types.length) throw bad(c, `'${raw}' needs ${types.length} parts separated by $`);
    let sql = '';
    const ps: SqlValue[] = [];
    // innermost first: component j's subquery is correlated to component j-1 by rid and grp
    for (let j = types.length - 1; j >= 0; j--) {
      const w = MATCHERS[types[j]](parts[j], { ...c, type: types[j], modifier: undefined }, ctx);
      const link = j === 0 ? '' : ` AND c${j}.rid = c${j - 1}.rid AND c${j}.grp = c${j - 1}.grp`;
      const inner = sql ? ` AND EXISTS (${sql})` : '';
      sql = `SELECT ${j === 0 ? 'c0.rid' : '1'} FROM ${TABLE_OF[types[j]]} c${j} WHERE c${j}.param = ?${link} AND (${w.sql})${inner}`;
      ps.unshift(paramId(ctx.type, `${c.code}$${j}`), ...w.params);
    }
    ors.push(`${ctx.alias}.rid IN (${sql})`);
    params.push(...ps);
  }
  return { sql: `(${anyOf(ors)})`, params };
}

function splitDollar(value: string): string[] {
  const out: string[] = [];
  let cur = '';
  for (let i = 0; i < value.length; i++) {
    if (value[i] === '\\' && value[i + 1] === '$') {
      cur += '$';
      i++;
    } else if (value[i] === '$') {
      out.push(cur);
      cur = '';
    } else cur += value[i];
  }
  out.push(cur);
  return out;
}

/**
 * `identifier:of-type=system|code|value` and `subject:identifier=system|value`: matched against the
 * token rows the extractor keeps under `code:of-type` and `code:identifier`.
 */
function modifierTokenSql(c: Criterion, ctx: Ctx): CompiledWhere {
  const ors = orValues(
    c.values.map((raw) => {
      if (c.modifier !== 'of-type') return MATCHERS.token(raw, { ...c, modifier: undefined }, ctx);
      const parts = raw.split('|');
      if (parts.length !== 3 || !parts[1] || !parts[2]) throw bad(c, `:of-type takes system|code|value, not '${raw}'`);
      const sql = `${parts[0] ? 'system = ?' : 'system IS NULL'} AND code = ? AND text = ?`;
      return { sql, params: [...(parts[0] ? [parts[0]] : []), parts[1], unescape(parts[2])] };
    }),
  );
  const id = paramId(ctx.type, `${c.code}:${c.modifier}`);
  return ridIn(ctx.alias, `SELECT rid FROM sp_token WHERE param = ? AND ${ors.sql}`, [id, ...ors.params]);
}

/** subject.name=x: the reference points at a resource of a target type that meets the next criterion. */
function chainSql(c: Criterion, ctx: Ctx): CompiledWhere {
  const ors: string[] = [];
  const params: SqlValue[] = [paramId(ctx.type, c.code)];
  for (const { targetType, next } of c.chain!) {
    const inner = nested(ctx, targetType);
    const w = criteriaSql([next], inner);
    ors.push(
      `(target_type = ? AND target_id IN (SELECT ${inner.alias}.id FROM resources ${inner.alias} WHERE ${w.sql}))`,
    );
    params.push(targetType, ...w.params);
  }
  return ridIn(ctx.alias, `SELECT rid FROM sp_reference WHERE param = ? AND (${anyOf(ors)})`, params);
}

/**
 * _has:Observation:patient:code=x: some Observation meeting the criterion refers to this resource.
 * The sources are a MATERIALIZED common table expression (SQLite ≥ 3.35, PostgreSQL ≥ 12), computed
 * once: PostgreSQL would otherwise join nested `_has` levels as nested loops whenever its statistics
 * are thin (a new table), each level re-running the ones below it — a search that grew tenfold with
 * every level. SQLite computes an IN subquery once anyway.
 */
function hasSql(c: Criterion, ctx: Ctx): CompiledWhere {
  const { sourceType, refParam, next } = c.has!;
  const inner = nested(ctx, sourceType);
  const w = criteriaSql([next], inner);
  const s = `s${inner.depth}`;
  const sources = `WITH ${s} AS MATERIALIZED (SELECT ${inner.alias}.rid FROM resources ${inner.alias} WHERE ${w.sql})`;
  return {
    sql: `${ctx.alias}.id IN (${sources} SELECT target_id FROM sp_reference
      WHERE param = ? AND target_type = ? AND rid IN (SELECT rid FROM ${s}))`,
    params: [...w.params, paramId(sourceType, refParam), ctx.type],
  };
}

function builtinId(c: Criterion, a: string): CompiledWhere {
  const list = inList([...new Set(c.values.map(unescape))]);
  return { sql: `${a}.id ${c.modifier === 'not' ? 'NOT ' : ''}IN (${list.sql})`, params: list.params };
}

function builtinLastUpdated(c: Criterion, now: number, a: string): CompiledWhere {
  const ors: string[] = [];
  const params: SqlValue[] = [];
  for (const value of c.values) {
    const [prefix, rest] = splitPrefix(value);
    const r = dateRange(rest);
    if (!r) throw bad(c, `Invalid date '${value}' for parameter '_lastUpdated'`);
    const w = rangeSql(prefix, r.low, r.high, now, `${a}.last_updated`, `${a}.last_updated`);
    ors.push(`(${w.sql})`);
    params.push(...w.params);
  }
  return { sql: `(${anyOf(ors)})`, params };
}

/** ORDER BY for _sort keys, with rid as the final tiebreak so pages never overlap. */
export function compileOrder(req: SearchRequest): CompiledWhere {
  const parts: string[] = [];
  const params: SqlValue[] = [];
  for (const s of req.sort) {
    const dir = s.descending ? 'DESC' : 'ASC';
    if (s.code === '_id') parts.push(`r.id ${dir}`);
    else if (s.code === '_lastUpdated') parts.push(`r.last_updated ${dir}`);
    else {
      const table = TABLE_OF[s.type];
      const textCol = (
        { sp_string: 'norm', sp_token: 'code', sp_uri: 'value', sp_reference: 'target_id' } as Record<string, string>
      )[table!];
      const col = textCol ?? (s.descending ? 'high' : 'low');
      const agg = s.descending ? 'MAX' : 'MIN';
      // resources without a value sort last either way, on both backends (their NULL orders differ)
      const missing = textCol ? (s.descending ? "''" : "'\uffff'") : s.descending ? '-1e308' : '1e308';
      const ids = indexIds(req.resourceType, s.code, s.type);
      parts.push(
        `COALESCE((SELECT ${agg}(${col}) FROM ${table} x WHERE x.rid = r.rid AND x.param IN (${placeholders(ids)})), ${missing}) ${dir}`,
      );
      params.push(...ids);
    }
  }
  parts.push('r.rid ASC');
  return { sql: parts.join(', '), params };
}
