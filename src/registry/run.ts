import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Bundle, OperationOutcome, Resource, Task } from '@medplum/fhirtypes';
import { create, update } from '../fhir/interactions/write.js';
import { FhirError } from '../fhir/errors.js';
import { paramId } from '../fhir/search/param-id.js';
import type { Services } from '../fhir/services.js';
import { buildReport, NPR_REPORT, type BuiltReport } from './report.js';
import type { ReportPeriod } from './period.js';

const JOB = 'http://forlop.no/fhir/CodeSystem/job';

export interface RunOptions {
  period: ReportPeriod;
  /** The reporting unit: an Organization id. */
  unit: string;
  /** A folder to write the report to (JSON and NDJSON), atomically; none: stored only. */
  outbox?: string;
}

export interface RunResult extends BuiltReport {
  /** Whether the stored report changed (a re-run over the same data changes nothing). */
  changed: boolean;
  job: Task;
  files: string[];
}

/** The content that makes a report what it is (not its version or time of storing). */
const essence = (b: Bundle | undefined) => JSON.stringify(b ? { identifier: b.identifier, tag: b.meta?.tag, timestamp: b.timestamp, entry: b.entry } : null);

/** Writes a file whole or not at all: to a temporary name, then renamed over the old one. */
export function writeAtomically(path: string, text: string): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, path);
}

/**
 * One run of the registry report for a unit and period: recorded as a job Task (in progress, then
 * completed with its counts, or failed with its error); the report built, validated against its
 * profile and stored in ONE transaction under a database lock for the unit and period — so two runs
 * (also in two server processes on one PostgreSQL) never build it at the same time, and a run that
 * dies leaves the previous report as it was. The Bundle is stored as `Bundle/npr-[unit]-[period]`:
 * a re-run over changed data (a late correction) stores a new version, over the same data nothing.
 * The OperationOutcome of left-out codes is stored beside it. Then the files, if an outbox is set.
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
  try {
    const result = await svc.store.transaction(async (tx) => {
      await tx.lock(`registry:${opts.unit}:${opts.period.label}`);
      const built = await buildReport(svc, tx, opts.period, opts.unit);
      const id = built.bundle.id as string;
      await svc.store.lockResource(tx, 'Bundle', id);
      const prev = await svc.store.current('Bundle', id, tx);
      const changed = !prev || prev.deleted === 1 || essence(JSON.parse(prev.content as string) as Bundle) !== essence(built.bundle);
      if (changed) {
        // the stored version was validated when it was stored: only a new one needs it
        const errors = (await svc.validator.validate(built.bundle, { profiles: [NPR_REPORT] })).filter((i) => i.severity === 'error' || i.severity === 'fatal');
        if (errors.length) {
          throw new FhirError('unprocessable', errors.slice(0, 20).map((i) => ({ message: `The report does not meet its profile: ${i.diagnostics}`, expression: i.expression })));
        }
        // validated above against the profile; stored as the server's own record
        await svc.store.write(tx, 'Bundle', id, prev, built.bundle, 'PUT');
        const oo = built.outcome.id as string;
        await svc.store.lockResource(tx, 'OperationOutcome', oo);
        await svc.store.write(tx, 'OperationOutcome', oo, await svc.store.current('OperationOutcome', oo, tx), built.outcome, 'PUT');
      }
      return { ...built, changed };
    });
    const files = opts.outbox ? writeOutbox(opts.outbox, result.bundle, result.outcome) : [];
    await finish({
      status: 'completed',
      output: [
        { type: { text: 'report' }, valueReference: { reference: `Bundle/${result.bundle.id}` } },
        { type: { text: 'problems' }, valueReference: { reference: `OperationOutcome/${result.outcome.id}` } },
        { type: { text: 'episodes' }, valueInteger: result.counts.episodes },
        { type: { text: 'codes' }, valueInteger: result.counts.codes },
        { type: { text: 'codes with problems' }, valueInteger: result.counts.problems },
        { type: { text: 'changed' }, valueBoolean: result.changed },
      ],
    });
    return { ...result, files, job };
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    await finish({ status: 'failed', statusReason: { text: message.slice(0, 1000) } });
    throw err;
  }
}

/** The report as JSON and as NDJSON (a resource per line, for large reports), each written atomically. */
function writeOutbox(dir: string, bundle: Bundle, outcome: OperationOutcome): string[] {
  mkdirSync(dir, { recursive: true });
  const base = join(dir, bundle.id as string);
  writeAtomically(`${base}.json`, `${JSON.stringify(bundle)}\n`);
  writeAtomically(`${base}.ndjson`, (bundle.entry ?? []).map((e) => JSON.stringify(e.resource as Resource)).join('\n') + '\n');
  writeAtomically(`${base}.problems.json`, `${JSON.stringify(outcome)}\n`);
  return [`${base}.json`, `${base}.ndjson`, `${base}.problems.json`];
}

/** The units that manage pathways (an EpisodeOfCare's managingOrganization): whom the scheduled job reports for. */
export async function reportingUnits(svc: Services): Promise<string[]> {
  const rows = await svc.store.storage.all<{ id: string }>(
    `SELECT DISTINCT target_id AS id FROM sp_reference WHERE param = ? AND target_type = 'Organization' ORDER BY target_id`,
    [paramId('EpisodeOfCare', 'organization')],
  );
  return rows.map((r) => r.id);
}
