import type { Measure } from '@medplum/fhirtypes';
import { FhirError } from '../fhir/errors.js';
import type { Services } from '../fhir/services.js';
import { findAll } from '../pathways/search.js';
import type { SqlExecutor } from '../storage/types.js';
import { latest, splitCanonical } from '../terminology/versions.js';

const ID = /^[A-Za-z0-9\-.]{1,64}$/;

async function byId(svc: Services, db: SqlExecutor, id: string, expression?: string): Promise<Measure> {
  const row = await svc.store.current('Measure', id, db);
  if (!row?.content || row.deleted)
    throw new FhirError('not-found', { message: `Measure/${id} is not known`, ...(expression ? { expression } : {}) });
  return JSON.parse(row.content) as Measure;
}

/**
 * The Measure to evaluate, read in the evaluation's snapshot: the instance of the URL, or the
 * `measure` parameter — `Measure/[id]`, or a canonical `url` (its latest version) or `url|version`.
 */
export async function resolveMeasure(
  svc: Services,
  db: SqlExecutor,
  id: string | undefined,
  measure: string | undefined,
): Promise<Measure> {
  if (id) return byId(svc, db, id);
  const text = measure ?? '';
  if (text.startsWith('Measure/')) {
    const ref = text.slice('Measure/'.length);
    if (!ID.test(ref))
      throw new FhirError('invalid', { message: `'${text}' is not a Measure reference`, expression: 'measure' });
    return byId(svc, db, ref, 'measure');
  }
  const [url, version] = splitCanonical(text);
  if (!/^[a-z][a-z0-9+.-]*:\S+$/i.test(url)) {
    throw new FhirError('invalid', {
      message: `measure is a canonical url (optionally |version) or Measure/[id], not '${text}'`,
      expression: 'measure',
    });
  }
  const found = (await findAll<Measure>(svc, 'Measure', new URLSearchParams({ url }).toString(), db)).filter(
    (m) => m.url === url,
  );
  const chosen = version === undefined ? latest(found) : found.find((m) => m.version === version);
  if (!chosen) throw new FhirError('not-found', { message: `No Measure ${text} is known here`, expression: 'measure' });
  return chosen;
}
