import { FhirError } from '../fhir/errors.js';
import type { Operation } from '../fhir/operations/types.js';
import { fileContent } from '../storage/bulk-tables.js';
import { jobOfCaller, queryValue } from './owner.js';
import { fileUrl } from './status.js';

/**
 * `GET [base]/$export-file?_jobId=…&_file=n`: one NDJSON file of a completed job, from the database
 * (any node serves it), as `application/fhir+ndjson`. Only the job's own client reaches it; each
 * download is audited as an operation on the file's URL (the pipeline's AuditEvent, `shows`).
 */
export const exportFileOperation: Operation = {
  name: 'export-file',
  definition: 'http://forlop.no/fhir/OperationDefinition/export-file',
  levels: ['system'],
  methods: ['GET'],
  access: () => [],
  async handler(svc, req) {
    const job = await jobOfCaller(svc, queryValue(req.query, '_jobId'));
    const raw = queryValue(req.query, '_file') ?? '';
    if (!/^\d{1,9}$/.test(raw))
      throw new FhirError('invalid', { message: '_file is a file number', expression: '_file' });
    const content = job.status === 'completed' ? await fileContent(svc.store.storage, job.id, Number(raw)) : undefined;
    if (content === undefined) throw new FhirError('not-found', `Export job ${job.id} has no file ${raw}`);
    return {
      status: 200,
      text: { contentType: 'application/fhir+ndjson', body: content },
      shows: [fileUrl(svc, job.id, Number(raw))],
    };
  },
};
