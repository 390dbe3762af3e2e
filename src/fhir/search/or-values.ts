import type { SqlValue } from '../../storage/types.js';
import type { CompiledWhere, Equality } from './matchers.js';
import { anyOf, inList } from './sql-lists.js';

/**
 * The OR of one parameter's values (R4 §3.1.1.4.13: `a,b,c`), each already compiled by its matcher.
 * Values that are one column equal to one value, under the same fixed conditions, are gathered into
 * one IN list (`system = ? AND code IN (…)`: a thousand identifiers of one system are one index lookup
 * per value, as one value is); the others (ranges, prefixes, LIKE) are OR-ed as a balanced tree.
 */
export function orValues(values: readonly CompiledWhere[]): CompiledWhere {
  const groups = new Map<string, { eq: Equality; values: Set<SqlValue> }>();
  const arms: CompiledWhere[] = [];
  for (const w of values) {
    if (!w.eq) {
      arms.push(w);
      continue;
    }
    const key = JSON.stringify([w.eq.column, w.eq.fixed?.sql ?? '', w.eq.fixed?.params ?? []]);
    const group = groups.get(key);
    if (group) group.values.add(w.eq.value);
    else groups.set(key, { eq: w.eq, values: new Set([w.eq.value]) });
  }
  const lists = [...groups.values()].map(({ eq, values: set }) => {
    const list = inList([...set]);
    const sql = `${eq.column} IN (${list.sql})`;
    return eq.fixed
      ? { sql: `${eq.fixed.sql} AND ${sql}`, params: [...eq.fixed.params, ...list.params] }
      : { sql, params: list.params };
  });
  const all = [...lists, ...arms];
  return { sql: anyOf(all.map((a) => `(${a.sql})`)), params: all.flatMap((a) => a.params) };
}
