import type { OperationOutcomeIssue, Resource } from '@medplum/fhirtypes';
import { asFhirError } from '../fhir/errors.js';
import { update } from '../fhir/interactions/write.js';
import type { Services } from '../fhir/services.js';
import { completeJob, insertFile, saveCursor, type BulkJobRow } from '../storage/bulk-tables.js';
import type { Lease } from '../storage/lease.js';
import type { ImportInput } from './import-input.js';
import { JobCancelled, type RunHooks } from './run.js';

/** What an import job does, fixed at kick-off (bulk_jobs.plan). */
export interface ImportPlan {
  kind: 'import';
  inputs: ImportInput[];
}

/** Where an import is: the file, the next line of it, what was stored per file, the next error file. */
export interface ImportCursor {
  input: number;
  line: number;
  imported: number[];
  nextFile: number;
}

/** Lines stored between two saves of the cursor. */
const CHUNK = 200;

/**
 * Fetches one input file's text (at most importMaxBytes); a failure is the job's (it is retried). A
 * redirect is refused: it could lead outside BULK_IMPORT_SOURCES.
 */
async function fetchText(svc: Services, url: string): Promise<string> {
  const res = await fetch(url, {
    signal: AbortSignal.timeout(60_000),
    headers: { Accept: 'application/fhir+ndjson' },
    redirect: 'error',
  });
  if (res.status !== 200) throw new Error(`${url}: HTTP ${res.status}`);
  const length = Number(res.headers.get('content-length') ?? 0);
  if (length > svc.bulk.importMaxBytes) throw new Error(`${url}: ${length} bytes, over BULK_IMPORT_MAX_BYTES`);
  const text = await res.text();
  if (Buffer.byteLength(text) > svc.bulk.importMaxBytes) throw new Error(`${url}: over BULK_IMPORT_MAX_BYTES`);
  return text;
}

/** One line stored as an update (its id kept, validated, reactions run) in its own transaction. */
async function storeLine(svc: Services, input: ImportInput, text: string): Promise<void> {
  let resource: Resource;
  try {
    resource = JSON.parse(text) as Resource;
  } catch {
    throw new Error('the line is not JSON');
  }
  if (resource?.resourceType !== input.type) throw new Error(`the line is not a ${input.type}`);
  if (!resource.id) throw new Error('the resource has no id (an import keeps the ids of its source)');
  await svc.store.transaction((tx) => update(svc, tx, input.type, resource.id!, resource));
}

/** The OperationOutcome line of a line that was not stored, naming the file and the line. */
function errorLine(input: ImportInput, line: number, err: unknown): string {
  const fe = asFhirError(err);
  const message = fe.category === 'internal' ? String((err as Error)?.message ?? err) : fe.message;
  const issue: OperationOutcomeIssue = {
    severity: 'error',
    code: fe.category === 'internal' ? 'processing' : (fe.issues[0]?.code ?? 'invalid'),
    diagnostics: `${input.url} line ${line + 1}: ${message}`.slice(0, 1000),
    ...(fe.issues[0]?.expression ? { expression: fe.issues[0].expression } : {}),
  };
  return JSON.stringify({ resourceType: 'OperationOutcome', issue: [issue] });
}

/** Saves the cursor and the chunk's error lines in one transaction, fenced by the lease. */
async function save(svc: Services, job: string, lease: Lease, cursor: ImportCursor, errors: string[]) {
  const expires = svc.clock.now().getTime() + svc.bulk.expiresMs;
  const file = errors.length ? { content: `${errors.join('\n')}\n`, seq: cursor.nextFile++ } : undefined;
  await svc.store.storage.transaction(async (tx) => {
    await lease.hold(tx);
    if (!(await saveCursor(tx, job, JSON.stringify(cursor), expires))) throw new JobCancelled();
    if (file) {
      const info = { seq: file.seq, kind: 'error' as const, type: 'OperationOutcome', count: errors.length };
      await insertFile(tx, job, { ...info, bytes: Buffer.byteLength(file.content) }, file.content);
    }
  });
}

/**
 * Runs an import from its cursor: each input fetched, its lines stored a chunk at a time (each
 * resource in a transaction of its own, so one bad line refuses only itself), the cursor and the
 * chunk's errors saved together under the lease. A restarted job fetches the file again and goes on
 * from the saved line; a line stored twice is an update with the same content, which stores nothing.
 */
export async function runImport(svc: Services, job: BulkJobRow, lease: Lease, hooks: RunHooks = {}): Promise<void> {
  const plan = JSON.parse(job.plan) as ImportPlan;
  const cursor = JSON.parse(job.cursor) as ImportCursor;
  for (; cursor.input < plan.inputs.length; cursor.input++, cursor.line = 0) {
    const input = plan.inputs[cursor.input];
    const lines = (await fetchText(svc, input.url)).split('\n');
    while (cursor.line < lines.length) {
      const errors: string[] = [];
      for (const end = Math.min(lines.length, cursor.line + CHUNK); cursor.line < end; cursor.line++) {
        const text = lines[cursor.line].trim();
        if (!text) continue;
        try {
          await storeLine(svc, input, text);
          cursor.imported[cursor.input] = (cursor.imported[cursor.input] ?? 0) + 1;
        } catch (err) {
          errors.push(errorLine(input, cursor.line, err));
        }
      }
      await save(svc, job.id, lease, cursor, errors);
      await hooks.afterFile?.(job.id, cursor);
    }
  }
  await svc.store.storage.transaction(async (tx) => {
    await lease.hold(tx);
    const expires = svc.clock.now().getTime() + svc.bulk.expiresMs;
    if (!(await completeJob(tx, job.id, JSON.stringify(cursor), expires))) throw new JobCancelled();
  });
}
