import type { OperationOutcomeIssue } from '@medplum/fhirtypes';
import { FhirError } from '../fhir/errors.js';
import type { Operation } from '../fhir/operations/types.js';
import type { FhirResponse } from '../fhir/request.js';
import type { Services } from '../fhir/services.js';
import { deleteJob, listFiles, type BulkFileInfo, type BulkJobRow } from '../storage/bulk-tables.js';
import { jobOfCaller, queryValue } from './owner.js';
import type { ImportCursor, ImportPlan } from './import-run.js';
import type { ExportPlan } from './plan.js';
import { phasesOf, type ExportCursor } from './run.js';

/** How long a client is asked to wait between polls while a job runs (seconds). */
const RETRY_AFTER = '2';

/** The download URL of one file of a job. */
export const fileUrl = (svc: Services, job: string, seq: number) =>
  `${svc.baseUrl}/$export-file?_jobId=${job}&_file=${seq}`;

/** `X-Progress` of an import: the file being stored and how many resources are. */
function importProgress(job: BulkJobRow): string {
  const plan = JSON.parse(job.plan) as ImportPlan;
  const cursor = JSON.parse(job.cursor) as ImportCursor;
  const stored = cursor.imported.reduce((a, b) => a + (b ?? 0), 0);
  const at = Math.min(cursor.input + 1, plan.inputs.length);
  return `${job.status}: file ${at} of ${plan.inputs.length}, line ${cursor.line}; ${stored} resources stored`;
}

const isImport = (job: BulkJobRow) => (JSON.parse(job.plan) as { kind?: string }).kind === 'import';

/** `X-Progress` (Bulk Data IG: free text): the type being written and what the files hold so far. */
function progress(job: BulkJobRow): string {
  if (isImport(job)) return importProgress(job);
  const plan = JSON.parse(job.plan) as ExportPlan;
  const cursor = JSON.parse(job.cursor) as ExportCursor;
  const phases = phasesOf(plan);
  if (job.status === 'accepted') return `accepted, waiting for a node; ${phases} types to export`;
  const at = Math.min(cursor.typeIndex + 1, phases);
  const type = plan.types[at - 1] ?? 'associated Provenance';
  return `type ${at} of ${phases} (${type}); ${cursor.exported} resources written`;
}

/**
 * The completion manifest (Bulk Data IG): transactionTime, the kick-off request, whether the files
 * need the access token, and the files by kind, each with its type and number of lines.
 */
function manifest(svc: Services, job: BulkJobRow, files: BulkFileInfo[]): string {
  const item = (f: BulkFileInfo) => ({ type: f.type, url: fileUrl(svc, job.id, f.seq), count: f.count });
  if (isImport(job)) {
    // an import's output: per input file, what was stored from it
    const plan = JSON.parse(job.plan) as ImportPlan;
    const cursor = JSON.parse(job.cursor) as ImportCursor;
    const output = plan.inputs.map((i, n) => ({ type: i.type, inputUrl: i.url, count: cursor.imported[n] ?? 0 }));
    return JSON.stringify({
      transactionTime: new Date(job.transactionTime).toISOString(),
      request: job.request,
      requiresAccessToken: job.requiresToken,
      output,
      error: files.filter((f) => f.kind === 'error').map(item),
    });
  }
  return JSON.stringify({
    transactionTime: new Date(job.transactionTime).toISOString(),
    request: job.request,
    requiresAccessToken: job.requiresToken,
    output: files.filter((f) => f.kind === 'output').map(item),
    error: files.filter((f) => f.kind === 'error').map(item),
    deleted: files.filter((f) => f.kind === 'deleted').map(item),
  });
}

/** A job that failed (the same bug three times): the IG's error answer, an OperationOutcome. */
function failure(job: BulkJobRow): FhirResponse {
  const issue: OperationOutcomeIssue = {
    severity: 'fatal',
    code: 'exception',
    diagnostics: `Export job ${job.id} failed; kick off a new one (${job.error ?? 'no detail'})`,
  };
  return { status: 500, resource: { resourceType: 'OperationOutcome', issue: [issue] } };
}

async function poll(svc: Services, job: BulkJobRow): Promise<FhirResponse> {
  if (job.status === 'failed') return failure(job);
  if (job.status !== 'completed')
    return { status: 202, headers: { 'X-Progress': progress(job), 'Retry-After': RETRY_AFTER } };
  const files = await listFiles(svc.store.storage, job.id);
  return {
    status: 200,
    text: { contentType: 'application/json', body: manifest(svc, job, files) },
    headers: { Expires: new Date(job.expires).toUTCString() },
  };
}

/** Cancels (or, when done, deletes) the job: its row and every file go at once (Bulk Data IG: 202). */
async function cancel(svc: Services, job: BulkJobRow): Promise<FhirResponse> {
  await svc.store.storage.transaction((tx) => deleteJob(tx, job.id));
  const issue: OperationOutcomeIssue = {
    severity: 'information',
    code: 'informational',
    diagnostics: `Export job ${job.id} ${job.status === 'completed' ? 'and its files deleted' : 'cancelled'}`,
  };
  return { status: 202, resource: { resourceType: 'OperationOutcome', issue: [issue] } };
}

/**
 * `GET [base]/$export-poll-status?_jobId=…` (the kick-off's Content-Location): 202 with X-Progress and
 * Retry-After while the job runs, 200 with the manifest and Expires when it is done. `DELETE` cancels.
 * Only the client that kicked the job off reaches it (owner.ts); the access it needs is that.
 */
export const exportStatusOperation: Operation = {
  name: 'export-poll-status',
  definition: 'http://forlop.no/fhir/OperationDefinition/export-poll-status',
  levels: ['system'],
  methods: ['GET', 'DELETE'],
  access: () => [],
  async handler(svc, req) {
    const unknown = req.query.find(([k]) => k !== '_jobId' && k !== '_format' && k !== '_pretty');
    if (unknown)
      throw new FhirError('invalid', { message: `Unknown parameter '${unknown[0]}'`, expression: unknown[0] });
    const job = await jobOfCaller(svc, queryValue(req.query, '_jobId'));
    return req.method === 'DELETE' ? cancel(svc, job) : poll(svc, job);
  },
};
