import { FhirError } from '../errors.js';
import type { SqlValue } from '../../storage/types.js';
import { dateRange } from './dates.js';
import { normalizeString } from './normalize.js';
import { parseReference } from './extract.js';
import { splitPipe, splitPrefix, unescape, type Criterion, type Prefix } from './params.js';

/**
 * One search value of one parameter type as an SQL condition on that type's index-table columns
 * (R4 §3.1.1.4: the semantics of each type, its prefixes and modifiers). `sql.ts` places these
 * conditions in lookups; everything here binds its values as parameters.
 */
export interface CompiledWhere {
  sql: string;
  params: SqlValue[];
  /** For a positive index lookup `alias.rid IN (sub)`: the subquery alone (for counting). */
  sub?: CompiledWhere;
  /** For a value that is one column equal to one value (after `fixed`): OR-ed ones go in one IN list. */
  eq?: Equality;
}

/** `[fixed AND] column = value`: the shape of a value `or-values.ts` gathers into `column IN (…)`. */
export interface Equality {
  column: string;
  value: SqlValue;
  /** Conditions on the other columns, the same for every value of one IN list (`system = ?`). */
  fixed?: CompiledWhere;
}

/** `column = ?`, after the fixed conditions when there are any. */
function eq(column: string, value: SqlValue, fixed?: CompiledWhere): CompiledWhere {
  const sql = fixed ? `${fixed.sql} AND ${column} = ?` : `${column} = ?`;
  return { sql, params: [...(fixed?.params ?? []), value], eq: { column, value, fixed } };
}

export interface Ctx {
  type: string;
  baseUrl: string;
  now: number;
  /** The alias of the `resources` row the criterion is about (r, then t1, t2… in subqueries). */
  alias: string;
  depth: number;
}

export type Matcher = (value: string, c: Criterion, ctx: Ctx) => CompiledWhere;

export function bad(c: Criterion, message: string): FhirError {
  return new FhirError('invalid', { message, expression: c.modifier ? `${c.code}:${c.modifier}` : c.code });
}

/** LIKE pattern escaping, with `\` declared as the escape character. */
const likeEscape = (s: string) => s.replace(/[\\%_]/g, (m) => `\\${m}`);

export const MATCHERS: Record<string, Matcher> = {
  token(value, c) {
    if (c.modifier === 'text')
      return { sql: `text LIKE ? ESCAPE '\\'`, params: [`${likeEscape(normalizeString(unescape(value)))}%`] };
    const [system, code] = splitPipe(value);
    if (system === undefined) return eq('code', code);
    if (system === '') return eq('code', code, { sql: 'system IS NULL', params: [] });
    if (code === '') return eq('system', system);
    return eq('code', code, { sql: 'system = ?', params: [system] });
  },
  string(value, c) {
    const v = unescape(value);
    if (c.modifier === 'exact') return eq('exact', v);
    const n = normalizeString(v);
    if (c.modifier === 'contains') return { sql: `norm LIKE ? ESCAPE '\\'`, params: [`%${likeEscape(n)}%`] };
    // prefix as a range, so both backends use the (type, param, norm) index
    return { sql: 'norm >= ? AND norm < ?', params: [n, `${n}\uffff`] };
  },
  reference(value, c, ctx) {
    const v = unescape(value);
    const typed = c.modifier && /^[A-Z]/.test(c.modifier) ? c.modifier : undefined;
    const local = v.startsWith(`${ctx.baseUrl}/`) ? v.slice(ctx.baseUrl.length + 1) : v;
    const ref = parseReference(local);
    if (ref && !/^[a-z][a-z0-9+.-]*:/i.test(local)) {
      if (typed && typed !== ref.type) throw bad(c, `Reference '${v}' does not match the modifier :${typed}`);
      return eq('target_id', ref.id, { sql: 'target_type = ?', params: [ref.type] });
    }
    if (/^[a-z][a-z0-9+.-]*:/i.test(v)) return eq('url', v.replace(/\|.*$/, ''));
    if (!/^[A-Za-z0-9\-.]{1,64}$/.test(v)) throw bad(c, `Invalid reference value '${v}'`);
    return typed ? eq('target_id', v, { sql: 'target_type = ?', params: [typed] }) : eq('target_id', v);
  },
  date(value, c, ctx) {
    const [prefix, rest] = splitPrefix(value);
    const r = dateRange(rest);
    if (!r) throw bad(c, `Invalid date '${value}' for parameter '${c.code}'`);
    return rangeSql(prefix, r.low, r.high, ctx.now, 'low', 'high');
  },
  number(value, c) {
    const [prefix, rest] = splitPrefix(value);
    const [lo, hi] = numberRange(prefix, rest, c);
    return rangeSql(prefix, lo, hi, undefined, 'low', 'high');
  },
  quantity(value, c) {
    const [prefix, rest] = splitPrefix(value);
    const [num, system, code] = [...rest.split('|'), undefined, undefined];
    const [lo, hi] = numberRange(prefix, num ?? '', c);
    const w = rangeSql(prefix, lo, hi, undefined, 'low', 'high');
    if (code) {
      w.sql = `(${w.sql}) AND code = ?${system ? ' AND system = ?' : ''}`;
      w.params.push(code, ...(system ? [system] : []));
    }
    return w;
  },
  uri(value, c) {
    const v = unescape(value);
    if (c.modifier === 'below') return { sql: `value LIKE ? ESCAPE '\\'`, params: [`${likeEscape(v)}%`] };
    if (c.modifier === 'above') return { sql: `? LIKE (value || '%')`, params: [v] };
    return eq('value', v);
  },
};

/**
 * The range a number search value stands for (R4 §3.1.1.4.3): for eq, ne and ap its implicit precision
 * (100 means [99.5, 100.5)); for the comparisons (gt, lt, ge, le, sa, eb) the exact value.
 */
function numberRange(prefix: Prefix, s: string, c: Criterion): [number, number] {
  if (!/^[-+]?\d+(\.\d+)?([eE][-+]?\d+)?$/.test(s)) throw bad(c, `Invalid number '${s}' for parameter '${c.code}'`);
  const v = Number(s);
  if (prefix !== 'eq' && prefix !== 'ne' && prefix !== 'ap') return [v, v];
  const decimals = /\.(\d+)/.exec(s)?.[1].length ?? 0;
  const half = 0.5 * 10 ** -decimals;
  return [v - half, v + half];
}

/**
 * Prefix semantics over ranges (R4 §3.1.1.4.5): the target [low, high] against the query [qlo, qhi].
 * `ap` widens the query by 10% of its distance from now (dates) or of its value (numbers).
 */
export function rangeSql(
  prefix: Prefix,
  qlo: number,
  qhi: number,
  now: number | undefined,
  lowCol: string,
  highCol: string,
): CompiledWhere {
  switch (prefix) {
    case 'eq':
      return { sql: `${lowCol} >= ? AND ${highCol} <= ?`, params: [qlo, qhi] };
    case 'ne':
      return { sql: `NOT (${lowCol} >= ? AND ${highCol} <= ?)`, params: [qlo, qhi] };
    case 'gt':
      return { sql: `${highCol} > ?`, params: [qhi] };
    case 'lt':
      return { sql: `${lowCol} < ?`, params: [qlo] };
    case 'ge':
      return { sql: `${highCol} >= ?`, params: [qlo] };
    case 'le':
      return { sql: `${lowCol} <= ?`, params: [qhi] };
    case 'sa':
      return { sql: `${lowCol} > ?`, params: [qhi] };
    case 'eb':
      return { sql: `${highCol} < ?`, params: [qlo] };
    case 'ap': {
      const mid = (qlo + qhi) / 2;
      const spread = Math.abs(now !== undefined ? now - mid : mid) * 0.1;
      return { sql: `${highCol} >= ? AND ${lowCol} <= ?`, params: [qlo - spread, qhi + spread] };
    }
  }
}
