import type { Resource } from '@medplum/fhirtypes';
import { runSearch } from '../fhir/search/execute.js';
import { parseSearch } from '../fhir/search/params.js';
import type { Services } from '../fhir/services.js';
import type { SqlExecutor } from '../storage/types.js';
import { osloDate } from './calendar.js';

/** An Oslo date of a date or dateTime. */
export function dateOf(v: string | undefined): string | undefined {
  return v === undefined ? undefined : v.length > 10 ? osloDate(new Date(v)) : v;
}

/** Every match of a search, read inside the transaction (a pathway has tens of Tasks, not thousands). */
export async function findAll<T extends Resource>(svc: Services, type: string, criteria: string, db: SqlExecutor): Promise<T[]> {
  const req = parseSearch(svc.defs, type, [...new URLSearchParams(criteria), ['_count', '1000']], { defaultCount: 1000, maxCount: 1000 }, true);
  req.total = 'none';
  return (await runSearch(svc, req, db)).rows.map((r) => JSON.parse(r.content as string) as T);
}
