import { osloDate } from './calendar.js';

/** An Oslo date of a date or dateTime. */
export function dateOf(v: string | undefined): string | undefined {
  return v === undefined ? undefined : v.length > 10 ? osloDate(new Date(v)) : v;
}

// the search front door's uncapped queries live in the core (src/fhir/search/find-all.ts)
export { findAll, referencedBy } from '../fhir/search/find-all.js';
