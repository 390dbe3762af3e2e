import { join } from 'node:path';
import type { Bundle, OperationOutcome, OperationOutcomeIssue, Organization, Task } from '@medplum/fhirtypes';
import { create, update } from '../fhir/interactions/write.js';
import { FhirError } from '../fhir/errors.js';
import { paramId } from '../fhir/search/param-id.js';
import type { Services } from '../fhir/services.js';
import type { Tx } from '../storage/types.js';
import { ReportFiles } from './files.js';
import { DEFAULT_PAGE_SIZE, Pager, ReportHead } from './pages.js';
import type { ReportPeriod } from './period.js';
import { reportParts } from './report.js';
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

/**
 * A stored resource's JSON less what storing adds (its version and time): equal to the JSON of the
 * resource as it was given, when the content is the same (the store keeps the given order of elements).
 */
function unstamped(content: string): string {
  const r = JSON.parse(content) as { meta?: Record<string, unknown> };
  if (r.meta) {
    delete r.meta.versionId;
    delete r.meta.lastUpdated;
    if (!Object.keys(r.meta).length) delete r.meta;
  }
  return JSON.stringify(r);
}

/**
 * One run of the registry report for a unit and period: recorded as a job Task (in progress, then
 * completed with its counts, or failed with its error); the report built patient by patient, each
 * page validated against its profile and stored as it is made, all in ONE transaction under a
 * database lock for the unit and period — so two runs (also in two server processes on one
 * PostgreSQL) never build it at the same time, and a run that dies leaves the previous report as it
 * was. Memory holds one batch of pathways and one page, never the period. Pages are stored as
 * `Bundle/npr-[unit]-[period]` (page 1) and `…-p2`, `…-p3`: a page whose content did not change is
 * not written again (a re-run over the same data writes nothing; a late correction gives new
 * versions of the pages it changed), pages a shrunk report no longer has are deleted. The
 * OperationOutcome of left-out codes is stored beside them. The files are written while the pages are
 * made and renamed into place after the commit.
 */
export async function runRegistryReport(svc: Services, opts: RunOptions): Promise<RunResult> {
  const started = svc.clock.now().toISOString();
  const jobBody: Task = {
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
  const job = JSON.parse((await svc.store.transaction((tx) => create(svc, tx, 'Task', jobBody))).row?.content as string) as Task;
  const finish = (fields: Partial<Task>) => svc.store.transaction((tx) => update(svc, tx, 'Task', job.id as string, { ...job, ...fields, executionPeriod: { start: started, end: svc.clock.now().toISOString() } }));
  let files: ReportFiles | undefined;
  const checks = new PageValidation(svc);
  try {
    const result = await svc.store.transaction(async (tx) => {
      await tx.lock(`registry:${opts.unit}:${opts.period.label}`);
      const unitRow = await svc.store.current('Organization', opts.unit, tx);
      if (!unitRow?.content || unitRow.deleted) throw new FhirError('not-found', { message: `Organization/${opts.unit} (the reporting unit) is not known`, expression: 'unit' });
      const head = new ReportHead(svc.baseUrl, opts.unit, JSON.parse(unitRow.content) as Organization, opts.period);
      files = reportFiles(head, opts);
      return storeReport(svc, tx, head, files, checks);
    });
    files?.commit();
    await finish({
      status: 'completed',
      output: [
        { type: { text: 'report' }, valueReference: { reference: `Bundle/${result.firstPage.id}` } },
        ...result.pages.slice(1).map((id) => ({ type: { text: 'page' }, valueReference: { reference: `Bundle/${id}` } })),
        { type: { text: 'problems' }, valueReference: { reference: `OperationOutcome/${result.outcome.id}` } },
        { type: { text: 'episodes' }, valueInteger: result.counts.episodes },
        { type: { text: 'codes' }, valueInteger: result.counts.codes },
        { type: { text: 'codes with problems' }, valueInteger: result.counts.problems },
        { type: { text: 'pages' }, valueInteger: result.pages.length },
        { type: { text: 'changed' }, valueBoolean: result.changed },
      ],
    });
    return { ...result, files: files?.paths ?? [], job };
  } catch (err) {
    files?.abort();
    const message = err instanceof Error ? err.message : String(err);
    await finish({ status: 'failed', statusReason: { text: message.slice(0, 1000) } });
    throw err;
  } finally {
    await checks.close();
  }
}

function reportFiles(head: ReportHead, opts: RunOptions): ReportFiles | undefined {
  const base = opts.outbox ? join(opts.outbox, head.pageId(1)) : undefined;
  const json = [...(base ? [`${base}.json`] : []), ...(opts.out ? [opts.out] : [])];
  if (!json.length) return undefined;
  const shell = head.shell(head.pageId(1), `${head.unitIdentifier}/${head.period.label}`, undefined);
  return new ReportFiles({ json, ndjson: base && `${base}.ndjson`, problems: base && `${base}.problems.json` }, shell, head.unitEntry());
}

/** Builds, validates and stores the pages in the caller's transaction; the problems beside them. */
async function storeReport(svc: Services, tx: Tx, head: ReportHead, files: ReportFiles | undefined, checks: PageValidation): Promise<Omit<RunResult, 'job' | 'files'>> {
  const pager = new Pager(head, svc.registryPageSize ?? DEFAULT_PAGE_SIZE);
  const counts = { episodes: 0, codes: 0, problems: 0 };
  const issues: OperationOutcomeIssue[] = [];
  const pages: string[] = [];
  let firstPage: Bundle | undefined;
  let changed = false;
  const store = async (page: Bundle) => {
    pages.push(page.id as string);
    firstPage ??= page;
    files?.addPage(page);
    if (await storeIfChanged(svc, tx, page, checks)) changed = true;
  };
  for await (const part of reportParts(svc, tx, head.period, head.unitId)) {
    counts.episodes += part.episodes;
    counts.codes += part.procedures.length;
    counts.problems += part.issues.length;
    issues.push(...part.issues);
    const closed = pager.add(part);
    if (closed) {
      checks.parallel();
      await store(closed);
    }
  }
  await store(pager.last());
  await checks.done();
  // the pages a shrunk report no longer has
  for (let n = pages.length + 1; ; n++) {
    const id = head.pageId(n);
    await svc.store.lockResource(tx, 'Bundle', id);
    const prev = await svc.store.current('Bundle', id, tx);
    if (!prev || prev.deleted) break;
    await svc.store.write(tx, 'Bundle', id, prev, null, 'DELETE');
    changed = true;
  }
  const outcome: OperationOutcome = {
    resourceType: 'OperationOutcome',
    id: head.problemsId(),
    issue: issues.length ? issues : [{ severity: 'information', code: 'informational', diagnostics: `No problems in the ${counts.codes} codes of ${head.period.label}` }],
  };
  if (await storeIfChanged(svc, tx, outcome)) changed = true;
  files?.setProblems(outcome);
  return { firstPage: firstPage as Bundle, pages, outcome, counts, changed };
}

/**
 * Stores a page (validated against the report profile: `checks`) or the problems, unless the stored
 * version has the same content: the stored one was validated when it was stored.
 */
async function storeIfChanged(svc: Services, tx: Tx, resource: Bundle | OperationOutcome, checks?: PageValidation): Promise<boolean> {
  const { resourceType: type, id } = resource as { resourceType: 'Bundle' | 'OperationOutcome'; id: string };
  await svc.store.lockResource(tx, type, id);
  const prev = await svc.store.current(type, id, tx);
  const json = JSON.stringify(resource);
  if (prev && !prev.deleted && unstamped(prev.content as string) === json) return false;
  if (resource.resourceType === 'Bundle') await checks?.check(resource, json);
  // validated against the profile (or, in a worker, failing the transaction if it is not); stored as the server's own record
  await svc.store.write(tx, type, id, prev, resource, 'PUT');
  return true;
}

/** The units that manage pathways (an EpisodeOfCare's managingOrganization): whom the scheduled job reports for. */
export async function reportingUnits(svc: Services): Promise<string[]> {
  const rows = await svc.store.storage.all<{ id: string }>(
    `SELECT DISTINCT target_id AS id FROM sp_reference WHERE param = ? AND target_type = 'Organization' ORDER BY target_id`,
    [paramId('EpisodeOfCare', 'organization')],
  );
  return rows.map((r) => r.id);
}
