import type { Collection } from './values.js';

/** What a native expression is evaluated against: the variables, `$this`, the root (the CarePlan). */
export interface Env {
  vars: Record<string, unknown>;
  /** `$this` inside `where`, `exists` and `iif` criteria; the root outside them. */
  self: Collection;
  root: Collection;
  /** `%now` when the caller gives none: today in Oslo. */
  today: string;
}

/** A compiled expression: its result on a focus, as fhirpath.js gives it (plain values). */
export type Eval = (focus: Collection, env: Env) => Collection;

/**
 * A compiled node and what fhirpath.js knows of its values: `typed` when they are the resources'
 * elements (fhirpath.js reads a dateTime element as a dateTime, a variable's text as a string);
 * `boolean` when each result is a plain boolean (a `where` criterion must give one: fhirpath.js
 * reads a boolean element's node as true whatever its value).
 */
export interface Node {
  run: Eval;
  typed: boolean;
  boolean: boolean;
}
