import { FhirError } from '../fhir/errors.js';
import { parseSearch } from '../fhir/search/params.js';
import type { Services } from '../fhir/services.js';

/** A Subscription's criteria (R4 §subscription: `Type?search`) as the type and the search's pairs. */
export interface Criteria {
  type: string;
  query: [string, string][];
}

/** Splits the criteria without checking them (they were checked when the Subscription was stored). */
export function splitCriteria(criteria: string): Criteria {
  const at = criteria.indexOf('?');
  const type = at < 0 ? criteria : criteria.slice(0, at);
  return { type, query: at < 0 ? [] : [...new URLSearchParams(criteria.slice(at + 1))] };
}

/** The criteria, checked as a search of a known type (422 at `Subscription.criteria` when not). */
export function parseCriteria(svc: Services, criteria: string | undefined): Criteria {
  const refuse = (message: string) => new FhirError('unprocessable', { message, expression: 'Subscription.criteria' });
  if (!criteria) throw refuse('A Subscription needs criteria (a search such as Task?business-status=overdue)');
  const parsed = splitCriteria(criteria);
  if (!svc.defs.resourceTypes.has(parsed.type)) throw refuse(`Subscription.criteria: unknown type '${parsed.type}'`);
  const paging = parsed.query.find(([k]) => ['_count', '_sort', '_include', '_revinclude', '_total'].includes(k));
  if (paging) throw refuse(`Subscription.criteria: ${paging[0]} has no meaning for a subscription`);
  try {
    parseSearch(svc.defs, parsed.type, parsed.query, { defaultCount: 1, maxCount: 1 }, true);
  } catch (err) {
    throw refuse(`Subscription.criteria: ${(err as Error).message}`);
  }
  return parsed;
}
