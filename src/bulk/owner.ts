import { FhirError } from '../fhir/errors.js';
import type { Services } from '../fhir/services.js';
import '../security/services.js';
import { readJob, type BulkJobRow } from '../storage/bulk-tables.js';

/** Who asked for a job: the token's client and subject (none with authentication off). */
export function ownerOf(svc: Services): string | null {
  const p = svc.principal;
  return p ? `${p.clientId ?? ''} ${p.subject}` : null;
}

/**
 * The job a status, file or cancel request names, if the caller may see it: with authentication on,
 * only the client that kicked it off (Bulk Data IG: the files are the requester's). Another client's
 * job, an expired one and an unknown one are all 404, so a job's existence is not told.
 */
export async function jobOfCaller(svc: Services, id: string | undefined): Promise<BulkJobRow> {
  if (!id || !/^[A-Za-z0-9-]{1,64}$/.test(id))
    throw new FhirError('invalid', { message: '_jobId names an export job', expression: '_jobId' });
  const job = await readJob(svc.store.storage, id);
  const expired = job !== undefined && job.expires < svc.clock.now().getTime();
  if (!job || expired || (svc.principal && job.owner !== ownerOf(svc)))
    throw new FhirError('not-found', `There is no export job ${id}`);
  return job;
}

/** One value of a query parameter of a status or file URL. */
export function queryValue(query: [string, string][], name: string): string | undefined {
  return query.find(([k]) => k === name)?.[1];
}
