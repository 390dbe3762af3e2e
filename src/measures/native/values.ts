/**
 * The values the native evaluator works on: FHIRPath collections as plain arrays of the resources'
 * own JSON values (objects, strings, numbers, booleans), as fhirpath.js gives them back. Whatever the
 * native evaluator is not sure to give exactly as fhirpath.js does, it refuses with `NotNative`, and
 * the caller runs fhirpath.js instead: the fast path never decides a result on its own.
 */
export type Collection = unknown[];

/** Raised where fhirpath.js might differ (a typed value, a multi-item operand, an error to report). */
export class NotNative extends Error {
  constructor(why: string) {
    super(why);
  }
}

export const notNative = (why: string): never => {
  throw new NotNative(why);
};

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A variable's value as a collection, as fhirpath.js reads `%name` (null and undefined are empty). */
export function arraify(v: unknown): Collection {
  if (v === undefined || v === null) return [];
  return Array.isArray(v) ? v : [v];
}

function pushValue(out: Collection, v: unknown): void {
  if (v === undefined || v === null) return;
  if (!Array.isArray(v)) {
    out.push(v);
    return;
  }
  // a null in a list is a primitive kept for its extension: fhirpath.js makes a node of it
  for (const x of v) out.push(x === null || x === undefined ? notNative('null in a list') : x);
}

/**
 * `item.name` for each item: the element's values, lists flattened. A primitive's extension
 * (`_name`) and a choice element (`valueCodeableConcept` for `value`), both typed in fhirpath.js by
 * the model, are left to fhirpath.js, as is a member of anything but an object.
 */
export function member(input: Collection, name: string): Collection {
  const out: Collection = [];
  for (const item of input) {
    if (!isObject(item)) notNative(`.${name} of a ${typeof item}`);
    const o = item as Record<string, unknown>;
    if (`_${name}` in o) notNative(`_${name}`);
    const v = o[name];
    if (v === undefined) {
      for (const key in o) if (key.length > name.length && key.startsWith(name) && /[A-Z]/.test(key[name.length])) notNative(key);
      continue;
    }
    pushValue(out, v);
  }
  return out;
}

/** A date-like string: fhirpath.js may compare it as a date or dateTime, by its precision and zone. */
export const DATE_LIKE = /^\d{4}|^T?\d{2}:/;
const FULL_DATE = /^\d{4}-\d{2}-\d{2}$/;

/**
 * Two singleton values fhirpath.js compares the plain JavaScript way: strings (a date only when both
 * are full `YYYY-MM-DD` dates: its order is then the text's), finite numbers, or booleans of one kind.
 */
export function comparable(a: unknown, b: unknown, ordered: boolean): void {
  if (typeof a === 'string' && typeof b === 'string') {
    if ((DATE_LIKE.test(a) || DATE_LIKE.test(b)) && !(FULL_DATE.test(a) && FULL_DATE.test(b))) notNative('dates');
    return;
  }
  if (typeof a === 'number' && typeof b === 'number' && Number.isFinite(a) && Number.isFinite(b)) return;
  if (!ordered && typeof a === 'boolean' && typeof b === 'boolean') return;
  notNative(`${typeof a} and ${typeof b}`);
}

/** A collection used as a boolean: empty, or one boolean. */
export function asBoolean(c: Collection): boolean | undefined {
  if (c.length === 0) return undefined;
  if (c.length === 1 && typeof c[0] === 'boolean') return c[0];
  return notNative('not a boolean');
}

/** The single item a function's input must be (fhirpath.js refuses more), or undefined when empty. */
export function single(c: Collection, what: string): unknown {
  if (c.length > 1) notNative(`${what} on ${c.length} items`);
  return c[0];
}
