import type { SqlExecutor } from '../../storage/types.js';
import type { Services } from '../services.js';
import { runSearch } from './execute.js';
import { parseSearch } from './params.js';

/** The most matches `searchAll` returns: canonical resources by url, code systems by identifier. */
const MAX_MATCHES = 10_000;

/**
 * Every match of a search (up to 10,000) as stored JSON, in the search's order: the lookups of
 * definitions by `url`, `identifier` or `source-system` that terminology and the loaders make.
 */
export async function searchAll(svc: Services, type: string, query: [string, string][], db?: SqlExecutor): Promise<string[]> {
  const req = parseSearch(svc.defs, type, query, { defaultCount: MAX_MATCHES, maxCount: MAX_MATCHES }, true);
  req.total = 'none';
  return (await runSearch(svc, req, db)).rows.map((r) => r.content as string);
}
