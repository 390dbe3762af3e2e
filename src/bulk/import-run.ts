import { readFile, realpath, stat } from 'node:fs/promises';
import { join, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { OperationOutcomeIssue, Resource } from '@medplum/fhirtypes';
import { asFhirError } from '../fhir/errors.js';
import { checkResource } from '../fhir/interactions/resource-checks.js';
import { update } from '../fhir/interactions/write.js';
import type { Services } from '../fhir/services.js';
import { completeJob, insertFile, saveCursor, type BulkJobRow } from '../storage/bulk-tables.js';
import type { Lease } from '../storage/lease.js';
import type { Tx } from '../storage/types.js';
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

/** Lines of one file in a batch: stored all together, in one transaction with the cursor, or none. */
const BATCH = 200;

/**
 * Fetches one input file's text (at most importMaxBytes); a failure is the job's (it is retried). A
 * redirect is refused: it could lead outside BULK_IMPORT_SOURCES. A file: URL is read from disk.
 */
async function fetchText(svc: Services, url: string): Promise<string> {
  if (url.startsWith('file:')) return readSourceFile(svc, url);
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

/**
 * A file: source, read only when its real path (links followed) is still inside a BULK_IMPORT_SOURCES
 * folder — a link in an import folder must not reach elsewhere — and within importMaxBytes.
 */
async function readSourceFile(svc: Services, url: string): Promise<string> {
  const path = await realpath(fileURLToPath(url));
  const folders = svc.bulk.importSources.filter((p) => p.startsWith('file:'));
  const inside = await Promise.all(
    folders.map(async (f) => path.startsWith(join(await realpath(fileURLToPath(f)), sep))),
  );
  if (!inside.includes(true)) throw new Error(`${url}: outside BULK_IMPORT_SOURCES once its links are followed`);
  if ((await stat(path)).size > svc.bulk.importMaxBytes) throw new Error(`${url}: over BULK_IMPORT_MAX_BYTES`);
  return readFile(path, 'utf8');
}

/** One line read as the resource it must be: JSON, of the input's type, with the id it keeps. */
function parseLine(input: ImportInput, text: string): Resource {
  let resource: Resource;
  try {
    resource = JSON.parse(text) as Resource;
  } catch {
    throw new Error('the line is not JSON');
  }
  if (resource?.resourceType !== input.type) throw new Error(`the line is not a ${input.type}`);
  if (!resource.id) throw new Error('the resource has no id (an import keeps the ids of its source)');
  return resource;
}

interface Batch {
  input: ImportInput;
  /** The batch's non-empty lines: their number in the file and text. */
  lines: { line: number; text: string }[];
}

/**
 * Checks every line of a batch (parsed and validated against its profiles, as a write would be), so that
 * a refused batch names each line at fault, not only the first. The resources, or the errors.
 */
async function checkBatch(svc: Services, batch: Batch) {
  const resources: { line: number; resource: Resource }[] = [];
  const errors: { line: number; err: unknown }[] = [];
  for (const { line, text } of batch.lines) {
    try {
      const resource = parseLine(batch.input, text);
      await checkResource(svc, resource);
      resources.push({ line, resource });
    } catch (err) {
      errors.push({ line, err });
    }
  }
  return { resources, errors };
}

/**
 * Stores a checked batch and the cursor after it in one transaction, fenced by the lease: the batch is
 * in, and the job past it, or neither. A line the pathway rules refuse (inside the transaction) refuses
 * the batch; its error names that line.
 */
async function storeBatch(
  svc: Services,
  lease: Lease,
  job: string,
  cursor: ImportCursor,
  input: ImportInput,
  resources: { line: number; resource: Resource }[],
): Promise<void> {
  const expires = svc.clock.now().getTime() + svc.bulk.expiresMs;
  await svc.store.transaction(async (tx: Tx) => {
    for (const { line, resource } of resources) {
      try {
        await update(svc, tx, input.type, resource.id!, resource);
      } catch (err) {
        throw new LineRefused(line, err);
      }
    }
    await lease.hold(tx);
    if (!(await saveCursor(tx, job, JSON.stringify(cursor), expires))) throw new JobCancelled();
  });
}

/** A line of a batch refused inside the batch's transaction (which then stores nothing). */
class LineRefused extends Error {
  constructor(
    readonly line: number,
    readonly refusal: unknown,
  ) {
    super(`line ${line + 1} refused`);
  }
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

/** The error lines of a refused batch: each line at fault, and each other line, which was not stored either. */
function refusedLines(batch: Batch, errors: { line: number; err: unknown }[]): string[] {
  const first = batch.lines[0].line + 1;
  const last = batch.lines[batch.lines.length - 1].line + 1;
  const faulty = new Set(errors.map((e) => e.line));
  const notStored = new Error(
    `not stored: lines ${first}–${last} are one batch, stored all or none, and it had errors`,
  );
  return [
    ...errors.map((e) => errorLine(batch.input, e.line, e.err)),
    ...batch.lines.filter((l) => !faulty.has(l.line)).map((l) => errorLine(batch.input, l.line, notStored)),
  ];
}

/** The next batch of a file's lines from the cursor, and the line after it. */
function nextBatch(input: ImportInput, lines: string[], from: number): { batch: Batch; end: number } {
  const end = Math.min(lines.length, from + BATCH);
  const batch: Batch = { input, lines: [] };
  for (let line = from; line < end; line++) {
    const text = lines[line].trim();
    if (text) batch.lines.push({ line, text });
  }
  return { batch, end };
}

/** One batch: checked, then stored with the cursor, or refused whole with its lines' errors saved. */
async function runBatch(svc: Services, job: string, lease: Lease, cursor: ImportCursor, batch: Batch, end: number) {
  const { resources, errors } = batch.lines.length ? await checkBatch(svc, batch) : { resources: [], errors: [] };
  cursor.line = end;
  if (!errors.length) {
    try {
      cursor.imported[cursor.input] = (cursor.imported[cursor.input] ?? 0) + resources.length;
      await storeBatch(svc, lease, job, cursor, batch.input, resources);
      return;
    } catch (err) {
      cursor.imported[cursor.input] -= resources.length;
      if (!(err instanceof LineRefused)) throw err;
      errors.push({ line: err.line, err: err.refusal });
    }
  }
  await save(svc, job, lease, cursor, refusedLines(batch, errors));
}

/**
 * Runs an import from its cursor: each input fetched, its lines taken a batch at a time (200 lines of a
 * file), each batch all or nothing in one transaction with the cursor after it, a refused batch's lines
 * reported in the error file. A restarted job fetches the file again and goes on from the saved line;
 * a batch stored again is a set of updates with the same content, which store nothing.
 */
export async function runImport(svc: Services, job: BulkJobRow, lease: Lease, hooks: RunHooks = {}): Promise<void> {
  const plan = JSON.parse(job.plan) as ImportPlan;
  const cursor = JSON.parse(job.cursor) as ImportCursor;
  for (; cursor.input < plan.inputs.length; cursor.input++, cursor.line = 0) {
    const input = plan.inputs[cursor.input];
    const lines = (await fetchText(svc, input.url)).split('\n');
    while (cursor.line < lines.length) {
      const { batch, end } = nextBatch(input, lines, cursor.line);
      await runBatch(svc, job.id, lease, cursor, batch, end);
      await hooks.afterFile?.(job.id, cursor);
    }
  }
  await svc.store.storage.transaction(async (tx) => {
    await lease.hold(tx);
    const expires = svc.clock.now().getTime() + svc.bulk.expiresMs;
    if (!(await completeJob(tx, job.id, JSON.stringify(cursor), expires))) throw new JobCancelled();
  });
}
