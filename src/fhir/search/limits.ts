import { FhirError } from '../errors.js';

/**
 * What one search may ask for before it is refused as too costly (400, issue code `too-costly`, naming
 * the parameter). The limits keep every search's SQL within what both databases take — SQLite's
 * expression depth (1,000) and bound values (32,766), PostgreSQL's bound values (65,535) — and its
 * cost within what one request should cost. docs/scale-out.md lists them.
 */

/** OR-ed values of one parameter (`_id=a,b,c`, R4 §3.1.1.4.13). */
export const MAX_OR_VALUES = 1000;

/** Links of one chained parameter, chains (§3.1.1.4.11) and `_has` (§3.1.1.4.12) counted together. */
export const MAX_CHAIN_LINKS = 8;

/**
 * Target types one chained parameter may be searched over, summed over its links: an untyped link
 * (`subject.name`) stands for every target type that has the next parameter, so a chain of several
 * untyped links multiplies them. Naming the type (`subject:Patient.name`) keeps a chain at one per link.
 */
export const MAX_CHAIN_TARGETS = 64;

/** Values bound into one search's SQL, all parameters together (values, index ids, terminology codes). */
export const MAX_BOUND_VALUES = 30_000;

/** `_sort` keys (§3.1.1.5.1): each is a lookup per matching resource. */
export const MAX_SORT_KEYS = 8;

/**
 * Resources `_include` / `_revinclude` may add to one page (with `:iterate`, over every hop) is the
 * server's page limit (`MAX_COUNT`); `:iterate` follows at most this many hops.
 */
export const MAX_INCLUDE_HOPS = 4;

/** The 400 of a search over a limit, naming the parameter as the query had it. */
export function tooCostly(message: string, parameter: string): FhirError {
  return new FhirError('invalid', { message, expression: parameter, code: 'too-costly' });
}
