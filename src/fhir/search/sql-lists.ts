import type { SqlValue } from '../../storage/types.js';

/**
 * Long lists in portable SQL. SQLite parses `a OR b OR c …` into a tree as deep as the list is long
 * and refuses one deeper than 1,000 ("Expression tree is too large"), so OR-ed and AND-ed conditions
 * are joined as balanced trees (depth log2 n; both planners flatten them again, SQLite into one
 * MULTI-INDEX OR). Equal values go in one flat `col IN (?, ?, …)` list, which is no tree at all and
 * an index lookup per value on both backends (PostgreSQL: `= ANY`). A set-returning function would
 * bind the whole list as one value, but none is shared: SQLite has `json_each` over arrays,
 * PostgreSQL `json_array_elements_text` (its `json_each` takes objects).
 */

/** The conditions OR-ed as a balanced tree; `parts` must not be empty. */
export function anyOf(parts: readonly string[]): string {
  return balanced(parts, 'OR');
}

/** The conditions AND-ed as a balanced tree; `parts` must not be empty. */
export function allOf(parts: readonly string[]): string {
  return balanced(parts, 'AND');
}

function balanced(parts: readonly string[], op: 'OR' | 'AND'): string {
  if (parts.length === 1) return parts[0];
  const mid = parts.length >> 1;
  return `(${balanced(parts.slice(0, mid), op)} ${op} ${balanced(parts.slice(mid), op)})`;
}

/**
 * `?, ?, …` for the values of an IN list, the list padded (with its last value, which changes nothing)
 * to one of a few lengths: each distinct statement text is prepared and kept by the backend, so lists
 * of 1 to 1,000 values make a few dozen statements instead of a thousand.
 */
export function inList(values: readonly SqlValue[]): { sql: string; params: SqlValue[] } {
  const size = bucket(values.length);
  const params = [...values];
  while (params.length < size) params.push(values[values.length - 1]);
  return { sql: params.map(() => '?').join(', '), params };
}

/** 1, 2, 4 … 64, then multiples of 64. */
function bucket(n: number): number {
  if (n <= 64) return 2 ** Math.ceil(Math.log2(Math.max(n, 1)));
  return Math.ceil(n / 64) * 64;
}
