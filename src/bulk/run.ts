import { exportBatch, latestProvenanceBatch, type ExportRow } from '../fhir/search/bulk-reads.js';
import type { Services } from '../fhir/services.js';
import { completeJob, insertFile, saveCursor, type BulkFileInfo, type BulkJobRow } from '../storage/bulk-tables.js';
import type { Lease } from '../storage/lease.js';
import { deletedLine, elementsFor, resourceLine } from './lines.js';
import type { ExportPlan } from './plan.js';

/** Where a job is: the type being written, the last version in a saved file, the next file's number. */
export interface ExportCursor {
  typeIndex: number;
  afterSeq: number;
  nextFile: number;
  /** Resources in the output files so far (for X-Progress). */
  exported: number;
}

/** How many times larger a batch of a type with `_typeFilter` is. */
const FILTERED_BATCHES = 10;

/** The job was cancelled (deleted) while it ran: what it had not saved is dropped. */
export class JobCancelled extends Error {}

export interface RunHooks {
  /** After each save of the cursor, an export's or an import's (tests stop a "dying" node here). */
  afterFile?: (job: string, cursor: object) => Promise<void>;
}

/** The lines of one file being filled. */
class Pending {
  lines: string[] = [];
  bytes = 0;
  type = '';
  add(type: string, line: string, size: number): void {
    this.type = type;
    this.lines.push(line);
    this.bytes += size;
  }
  file(seq: number, kind: BulkFileInfo['kind']): { info: BulkFileInfo; content: string } {
    const content = `${this.lines.join('\n')}\n`;
    const info = { seq, kind, type: kind === 'deleted' ? 'Bundle' : this.type, count: this.lines.length, bytes: 0 };
    info.bytes = Buffer.byteLength(content);
    this.lines = [];
    this.bytes = 0;
    return { info, content };
  }
}

/**
 * Fills files up to the byte bound and saves them with the cursor in one transaction, fenced by the
 * job's lease: a node that lost its lease (paused past expiry while another took over) fails to save,
 * and a restarted job resumes after the last version of its last saved file.
 */
class FileWriter {
  private readonly output = new Pending();
  private readonly deleted = new Pending();

  constructor(
    private readonly svc: Services,
    private readonly job: string,
    private readonly lease: Lease,
    readonly cursor: ExportCursor,
    private readonly hooks: RunHooks,
  ) {}

  async add(kind: 'output' | 'deleted', type: string, line: string, seq: number): Promise<void> {
    const pending = kind === 'output' ? this.output : this.deleted;
    const size = Buffer.byteLength(line) + 1;
    if (pending.lines.length && pending.bytes + size > this.svc.bulk.fileMaxBytes) await this.flush();
    pending.add(type, line, size);
    this.cursor.afterSeq = seq;
    if (kind === 'output') this.cursor.exported++;
  }

  /** The type is done: the cursor moves to the next, saved with the type's last files. */
  async endType(): Promise<void> {
    this.cursor.typeIndex++;
    this.cursor.afterSeq = 0;
    await this.flush();
  }

  async flush(): Promise<void> {
    const files: { info: BulkFileInfo; content: string }[] = [];
    if (this.output.lines.length) files.push(this.output.file(this.cursor.nextFile++, 'output'));
    if (this.deleted.lines.length) files.push(this.deleted.file(this.cursor.nextFile++, 'deleted'));
    if (!files.length) return;
    const expires = this.svc.clock.now().getTime() + this.svc.bulk.expiresMs;
    await this.svc.store.storage.transaction(async (tx) => {
      await this.lease.hold(tx);
      if (!(await saveCursor(tx, this.job, JSON.stringify(this.cursor), expires))) throw new JobCancelled();
      for (const f of files) await insertFile(tx, this.job, f.info, f.content);
    });
    await this.hooks.afterFile?.(this.job, this.cursor);
  }

  async complete(): Promise<void> {
    await this.flush();
    const expires = this.svc.clock.now().getTime() + this.svc.bulk.expiresMs;
    await this.svc.store.storage.transaction(async (tx) => {
      await this.lease.hold(tx);
      if (!(await completeJob(tx, this.job, JSON.stringify(this.cursor), expires))) throw new JobCancelled();
    });
  }
}

function lineOf(svc: Services, plan: ExportPlan, type: string, row: ExportRow): string {
  if (row.deleted) return deletedLine(type, row.id, new Date(row.lastUpdated).toISOString());
  return resourceLine(svc.defs, row.content ?? '{}', elementsFor(svc.defs, plan.elements, type));
}

/** The Provenance associated with what the types exported (the last phase, `latestProvenance`). */
async function exportProvenance(svc: Services, plan: ExportPlan, writer: FileWriter): Promise<void> {
  const targets = plan.types.map((type) => ({ type, filters: plan.filters[type] ?? [], patients: plan.patients }));
  for (;;) {
    const s = { snapshot: plan.snapshot, afterSeq: writer.cursor.afterSeq, limit: svc.bulk.batch, targets };
    const rows = await latestProvenanceBatch(svc, svc.store.storage, s);
    for (const row of rows) await writer.add('output', 'Provenance', row.content ?? '{}', row.seq);
    if (rows.length < s.limit) return;
  }
}

/** How many phases a plan has: its types, and the associated Provenance when asked for. */
export const phasesOf = (plan: ExportPlan) => plan.types.length + (plan.latestProvenance ? 1 : 0);

async function exportType(svc: Services, plan: ExportPlan, writer: FileWriter): Promise<void> {
  if (writer.cursor.typeIndex === plan.types.length) return exportProvenance(svc, plan, writer);
  const type = plan.types[writer.cursor.typeIndex];
  const slice = {
    type,
    snapshot: plan.snapshot,
    since: plan.since,
    until: plan.until,
    filters: plan.filters[type] ?? [],
    patients: plan.patients,
    // deletions are listed only for an export `_since` a moment (the IG's `deleted`)
    withDeleted: plan.since !== undefined,
    // a `_typeFilter` is evaluated again for each batch (bulk-reads.ts): fewer, larger batches
    limit: svc.bulk.batch * (plan.filters[type]?.length ? FILTERED_BATCHES : 1),
  };
  for (;;) {
    const rows = await exportBatch(svc, svc.store.storage, { ...slice, afterSeq: writer.cursor.afterSeq });
    for (const row of rows)
      await writer.add(row.deleted ? 'deleted' : 'output', type, lineOf(svc, plan, type, row), row.seq);
    if (rows.length < slice.limit) return;
  }
}

/**
 * Runs a job from its saved cursor to the end, under its lease: each type's versions at the
 * snapshot, a batch at a time, into files of at most `fileMaxBytes`. Throws JobCancelled when the job
 * was deleted meanwhile, and the lease's error when another node took it over.
 */
export async function runExport(svc: Services, job: BulkJobRow, lease: Lease, hooks: RunHooks = {}): Promise<void> {
  const plan = JSON.parse(job.plan) as ExportPlan;
  const writer = new FileWriter(svc, job.id, lease, JSON.parse(job.cursor) as ExportCursor, hooks);
  while (writer.cursor.typeIndex < phasesOf(plan)) {
    await exportType(svc, plan, writer);
    await writer.endType();
  }
  await writer.complete();
}
