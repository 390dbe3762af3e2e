import { schedule, type ScheduledTask, type TaskContext } from 'node-cron';
import type { Config } from './config.js';
import type { Services } from './fhir/services.js';
import type { LogFn } from './http/log.js';
import { evaluateAll } from './pathways/evaluate.js';
import { registryTask } from './registry/schedule.js';
import { startDelivery } from './subscriptions/worker.js';
import { startExportWorker } from './bulk/worker.js';
import { startMaterialising } from './security/audit-journal.js';

/** The server's scheduled jobs, running until `stop`. */
export interface ScheduledJobs {
  stop(): Promise<void>;
}

/** Where a job's run is recorded (the metrics): its outcome and how long it took. */
export type JobRecorder = (job: string, outcome: 'ok' | 'failed', seconds: number) => void;

/**
 * The scheduled jobs: the deadline evaluation (DEADLINE_CRON), the registry reports
 * (REGISTRY_CRON) and the delivery of Subscription notifications (polling its outbox). A run that
 * fails (the database restarting under it) is logged and the job runs again at its next time: never an
 * unhandled rejection, never a stopped schedule. What a failed run had not done is done by the next
 * one: the evaluation looks at every active pathway each time, and a registry run is idempotent (its
 * job Task records the failure).
 */
export async function startScheduledJobs(
  config: Config,
  services: Services,
  log: LogFn,
  record?: JobRecorder,
): Promise<ScheduledJobs> {
  // deadlines move with time, not only with writes: evaluate every active pathway on a schedule
  // (per-CarePlan locks let several nodes run it; noOverlap keeps one run per process at a time)
  const deadlines = config.deadlineCron
    ? schedule(
        config.deadlineCron,
        guarded(
          'deadlines',
          log,
          async () => log({ level: 'info', msg: 'deadlines evaluated', ...(await evaluateAll(services)) }),
          record,
        ),
        {
          name: 'deadlines',
          noOverlap: true,
          timezone: 'Europe/Oslo',
        },
      )
    : undefined;
  // the month before's registry reports, for every unit with pathways (REGISTRY_CRON, in REGISTRY_TIMEZONE);
  // a failure of one unit is logged by the run itself, a failure of the whole run here
  const registry = config.registryCron
    ? registryTask(services, config.registryCron, config.registryTimezone, log)
    : undefined;
  registry?.on('execution:failed', (context) => logFailure(log, 'registry-report', context.execution?.error));
  if (registry && record) recordRuns(registry, 'registry-report', record);
  await registry?.start();
  // Subscription notifications: the outbox is delivered for as long as the server runs (src/subscriptions)
  const delivery = startDelivery(services, { log });
  // Bulk Data export jobs: run under leases, resumed here when another node died (src/bulk)
  const exports = startExportWorker(services, { log });
  // the audit journal becomes AuditEvent resources in bulk, off the requests' path (src/security)
  const journal = services.auditLog?.journal;
  const audit = journal ? startMaterialising(journal, config.auditMaterialiseSeconds * 1000, log) : undefined;
  return {
    async stop() {
      await deadlines?.stop();
      await registry?.stop();
      await delivery.stop();
      await exports.stop();
      await audit?.stop();
    },
  };
}

/** A job's run that logs its failure instead of throwing it. */
function guarded(job: string, log: LogFn, run: () => Promise<void>, record?: JobRecorder): () => Promise<void> {
  return async () => {
    const start = performance.now();
    try {
      await run();
      record?.(job, 'ok', (performance.now() - start) / 1000);
    } catch (err) {
      record?.(job, 'failed', (performance.now() - start) / 1000);
      logFailure(log, job, err);
    }
  };
}

/** Records each run of a node-cron task from its own events (it times the execution itself). */
export function recordRuns(task: ScheduledTask, job: string, record: JobRecorder): void {
  const seconds = (c: TaskContext) => {
    const { startedAt, finishedAt } = c.execution ?? {};
    return startedAt && finishedAt ? (finishedAt.getTime() - startedAt.getTime()) / 1000 : 0;
  };
  task.on('execution:finished', (c) => record(job, 'ok', seconds(c)));
  task.on('execution:failed', (c) => record(job, 'failed', seconds(c)));
}

function logFailure(log: LogFn, job: string, err: unknown): void {
  log({
    level: 'error',
    msg: 'scheduled job failed; it runs again at its next time',
    job,
    error: String((err as Error)?.stack ?? err),
  });
}
