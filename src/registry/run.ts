import { join } from 'node:path';
import type {
  Bundle,
  OperationOutcome,
  OperationOutcomeIssue,
  Organization,
  Resource,
  Task,
  TaskOutput,
} from '@medplum/fhirtypes';
import { create, update } from '../fhir/interactions/write.js';
import { FhirError } from '../fhir/errors.js';
import { stamp } from '../fhir/store.js';
import type { Services } from '../fhir/services.js';
import { Lease } from '../storage/lease.js';
import type { SqlExecutor, Tx } from '../storage/types.js';
import { ReportFiles } from './files.js';
import { DEFAULT_PAGE_SIZE, Pager, ReportHead } from './pages.js';
import type { ReportPeriod } from './period.js';
import { reportParts } from './report.js';
import { PageSpool } from './spool.js';
import { PageValidation } from './validation.js';

const JOB = 'http://forlop.no/fhir/CodeSystem/job';

export interface RunOptions {
  period: ReportPeriod;
  /** The reporting unit: an Organization id. */
  unit: string;
  /** A folder to write the report to (JSON, NDJSON and the problems), atomically; none: stored only. */
  outbox?: string;
  /** A further file to write the whole report to as one JSON Bundle (the command's --out). */
  out?: string;
}

export interface RunResult {
  /** The report's first page: the whole report when it fits one page (REGISTRY_PAGE_SIZE codes). */
  firstPage: Bundle;
  /** The ids of the stored pages, in order. */
  pages: string[];
  /** The codes left out, each with its NPR feedback code (Volven 9329). */
  outcome: OperationOutcome;
  counts: { episodes: number; codes: number; problems: number };
  /** Whether the stored report changed (a re-run over the same data changes nothing). */
  changed: boolean;
  job: Task;
  files: string[];
}

/** What the build found to store: the changed pages (spooled), the pages to delete, the problems if changed. */
interface Built extends Omit<RunResult, 'job' | 'files' | 'changed'> {
  spool: PageSpool;
  surplus: string[];
  problemsChanged: boolean;
}

/**
 * One run of the registry report for a unit and period, in three steps:
 *
 * 1. A lease on the unit and period (storage/lease.ts), held in the database, so two runs — also in
 *    several server processes on one database — never overlap; one that dies lets it go on expiry.
 * 2. The report built over one snapshot of the data (no lock a writer waits for, however long it
 *    takes): patient by patient, in pages; each page compared with the stored one and, if changed,
 *    validated against the profile (in a worker thread once there is a second page) and spooled to
 *    disk; the outbox files written as the pages are made.
 * 3. ONE short transaction writing the changed pages, deleting the pages a shrunk report no longer
 *    has, storing the problems — all or nothing: a run that dies leaves the earlier report as it
 *    was, and the next run completes it. The files are renamed into place after the commit.
 *
 * The run is recorded as a job Task (in progress, then completed with its counts, or failed with its
 * error). Memory holds a batch of pathways and a page or two, never the period.
 */
export async function runRegistryReport(svc: Services, opts: RunOptions): Promise<RunResult> {
  const job = await RunJob.start(svc, opts);
  let lease: Lease | undefined;
  let built: (Built & { files?: ReportFiles }) | undefined;
  const checks = new PageValidation(svc);
  try {
    lease = await Lease.acquire(svc.store.storage, `registry:${opts.unit}:${opts.period.label}`);
    built = await svc.store.storage.snapshot((db) => buildForUnit(svc, db, opts, checks));
    const changed = await storeBuilt(svc, lease, built);
    built.files?.commit();
    const { spool: _s, surplus: _d, problemsChanged: _p, files, ...result } = built;
    await job.finish({ status: 'completed', output: jobOutputs(result, changed) });
    return { ...result, changed, files: files?.paths ?? [], job: job.task };
  } catch (err) {
    built?.files?.abort();
    const message = err instanceof Error ? err.message : String(err);
    await job.finish({ status: 'failed', statusReason: { text: message.slice(0, 1000) } });
    throw err;
  } finally {
    built?.spool.remove();
    await checks.close();
    await lease?.release();
  }
}

/** The run's job Task: stored in progress when the run starts, then completed or failed with its end. */
class RunJob {
  private constructor(
    private readonly svc: Services,
    readonly task: Task,
    private readonly started: string,
  ) {}

  static async start(svc: Services, opts: RunOptions): Promise<RunJob> {
    const started = svc.clock.now().toISOString();
    const body: Task = {
      resourceType: 'Task',
      status: 'in-progress',
      intent: 'order',
      code: { coding: [{ system: JOB, code: 'npr-report', display: 'NPR registry report' }] },
      description: `NPR report ${opts.period.label} for Organization/${opts.unit}`,
      executionPeriod: { start: started },
      authoredOn: started,
      input: [
        { type: { text: 'period' }, valueString: opts.period.label },
        { type: { text: 'unit' }, valueReference: { reference: `Organization/${opts.unit}` } },
      ],
    };
    const stored = await svc.store.transaction((tx) => create(svc, tx, 'Task', body));
    return new RunJob(svc, JSON.parse(stored.row?.content as string) as Task, started);
  }

  finish(fields: Partial<Task>): Promise<unknown> {
    const end = this.svc.clock.now().toISOString();
    const task = { ...this.task, ...fields, executionPeriod: { start: this.started, end } };
    return this.svc.store.transaction((tx) => update(this.svc, tx, 'Task', this.task.id as string, task));
  }
}

/** What a completed run's job Task says: the report, its pages and problems, the counts, whether it changed. */
function jobOutputs(result: Omit<Built, 'spool' | 'surplus' | 'problemsChanged'>, changed: boolean): TaskOutput[] {
  const ref = (text: string, reference: string) => ({ type: { text }, valueReference: { reference } });
  return [
    ref('report', `Bundle/${result.firstPage.id}`),
    ...result.pages.slice(1).map((id) => ref('page', `Bundle/${id}`)),
    ref('problems', `OperationOutcome/${result.outcome.id}`),
    { type: { text: 'episodes' }, valueInteger: result.counts.episodes },
    { type: { text: 'codes' }, valueInteger: result.counts.codes },
    { type: { text: 'codes with problems' }, valueInteger: result.counts.problems },
    { type: { text: 'pages' }, valueInteger: result.pages.length },
    { type: { text: 'changed' }, valueBoolean: changed },
  ];
}

/** Step 2 for the run's unit, in the snapshot `db`: the unit looked up, its files opened, the report built. */
async function buildForUnit(
  svc: Services,
  db: SqlExecutor,
  opts: RunOptions,
  checks: PageValidation,
): Promise<Built & { files?: ReportFiles }> {
  const unitRow = await svc.store.current('Organization', opts.unit, db);
  if (!unitRow?.content || unitRow.deleted)
    throw new FhirError('not-found', {
      message: `Organization/${opts.unit} (the reporting unit) is not known`,
      expression: 'unit',
    });
  const head = new ReportHead(svc.baseUrl, opts.unit, JSON.parse(unitRow.content) as Organization, opts.period);
  const files = reportFiles(head, opts);
  try {
    return { ...(await buildReport(svc, db, head, files, checks)), files };
  } catch (err) {
    files?.abort();
    throw err;
  }
}

/** Step 3: the changed pages, the deletions and the problems in one transaction, still holding the lease. */
function storeBuilt(svc: Services, lease: Lease, report: Built): Promise<boolean> {
  return svc.store.transaction(async (tx) => {
    await lease.hold(tx);
    // validated against the profile when built; stored as the server's own record
    for (const [id, page] of report.spool.pages()) await writeOwn(svc, tx, 'Bundle', id, page);
    for (const id of report.surplus) await writeOwn(svc, tx, 'Bundle', id, null);
    if (report.problemsChanged)
      await writeOwn(svc, tx, 'OperationOutcome', report.outcome.id as string, report.outcome);
    return report.spool.size > 0 || report.surplus.length > 0 || report.problemsChanged;
  });
}

/** A new version of one of the report's own resources (null: its deletion, if it is there), under its lock. */
async function writeOwn(svc: Services, tx: Tx, type: string, id: string, resource: Resource | null): Promise<void> {
  await svc.store.lockResource(tx, type, id);
  const prev = await svc.store.current(type, id, tx);
  if (resource) await svc.store.write(tx, type, id, prev, resource, 'PUT');
  else if (prev && !prev.deleted) await svc.store.write(tx, type, id, prev, null, 'DELETE');
}

function reportFiles(head: ReportHead, opts: RunOptions): ReportFiles | undefined {
  const base = opts.outbox ? join(opts.outbox, head.pageId(1)) : undefined;
  const json = [...(base ? [`${base}.json`] : []), ...(opts.out ? [opts.out] : [])];
  if (!json.length) return undefined;
  const shell = head.shell(head.pageId(1), `${head.unitIdentifier}/${head.period.label}`, undefined);
  return new ReportFiles(
    { json, ndjson: base && `${base}.ndjson`, problems: base && `${base}.problems.json` },
    shell,
    head.unitEntry(),
  );
}

/**
 * Whether a resource differs from its stored version (read in the snapshot): the stored JSON is
 * compared with the resource as it would have been stored in that version — no parse of the stored text.
 */
async function differs(svc: Services, db: SqlExecutor, resource: Bundle | OperationOutcome): Promise<boolean> {
  const id = resource.id as string;
  const prev = await svc.store.current(resource.resourceType, id, db);
  if (!prev || prev.deleted === 1) return true;
  return JSON.stringify(stamp(resource, id, prev.version, new Date(prev.last_updated).toISOString())) !== prev.content;
}

/** Step 2: the pages made, compared, validated, spooled and written to the files; what to delete; the problems. */
async function buildReport(
  svc: Services,
  db: SqlExecutor,
  head: ReportHead,
  files: ReportFiles | undefined,
  checks: PageValidation,
): Promise<Built> {
  const pager = new Pager(head, svc.registryPageSize ?? DEFAULT_PAGE_SIZE);
  const spool = new PageSpool();
  const counts = { episodes: 0, codes: 0, problems: 0 };
  const issues: OperationOutcomeIssue[] = [];
  const pages: string[] = [];
  let firstPage: Bundle | undefined;
  const stage = async (page: Bundle) => {
    pages.push(page.id as string);
    firstPage ??= page;
    files?.addPage(page);
    // an unchanged page was validated when it was stored
    if (!(await differs(svc, db, page))) return;
    const json = JSON.stringify(page);
    await checks.check(page, json);
    spool.add(page.id as string, json);
  };
  try {
    for await (const part of reportParts(svc, db, head.period, head.unitId)) {
      counts.episodes += part.episodes;
      counts.codes += part.procedures.length;
      counts.problems += part.issues.length;
      issues.push(...part.issues);
      const closed = pager.add(part);
      if (closed) {
        checks.parallel();
        await stage(closed);
      }
    }
    await stage(pager.last());
    await checks.done();
  } catch (err) {
    spool.remove();
    throw err;
  }
  const surplus = await surplusPages(svc, db, head, pages.length);
  const outcome = problemsOutcome(head, issues, counts.codes);
  files?.setProblems(outcome);
  const problemsChanged = await differs(svc, db, outcome);
  return { firstPage: firstPage as Bundle, pages, outcome, counts, spool, surplus, problemsChanged };
}

/** The pages after the report's last that an earlier, longer report left: to be deleted. */
async function surplusPages(svc: Services, db: SqlExecutor, head: ReportHead, pageCount: number): Promise<string[]> {
  const surplus: string[] = [];
  for (let n = pageCount + 1; ; n++) {
    const prev = await svc.store.current('Bundle', head.pageId(n), db);
    if (!prev || prev.deleted) return surplus;
    surplus.push(head.pageId(n));
  }
}

/** The report's problems as one OperationOutcome (saying there are none, when there are none). */
function problemsOutcome(head: ReportHead, issues: OperationOutcomeIssue[], codes: number): OperationOutcome {
  const none: OperationOutcomeIssue = {
    severity: 'information',
    code: 'informational',
    diagnostics: `No problems in the ${codes} codes of ${head.period.label}`,
  };
  return { resourceType: 'OperationOutcome', id: head.problemsId(), issue: issues.length ? issues : [none] };
}

/** The units that manage pathways (an EpisodeOfCare's managingOrganization): whom the scheduled job reports for. */
export async function reportingUnits(svc: Services): Promise<string[]> {
  return svc.store.referencedIds('EpisodeOfCare', 'organization', 'Organization');
}
