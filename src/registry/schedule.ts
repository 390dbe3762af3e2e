import { createTask, type ScheduledTask } from 'node-cron';
import type { Services } from '../fhir/services.js';
import { previousMonth } from './period.js';
import { reportingUnits, runRegistryReport, type RunResult } from './run.js';

/**
 * 03:00 on the 2nd of each month, in Oslo: the month before is complete, and NPR's deadlines fall early in the month.
 */
export const DEFAULT_REGISTRY_CRON = '0 3 2 * *';

/**
 * The scheduled run: the month before today (in Oslo, by the injected clock) for every unit that
 * manages pathways, one after the other; a unit that fails is logged and the others still run (its
 * job Task records the failure, and the next run, or `$registry-report`, completes it).
 */
export async function runScheduledReports(
  svc: Services,
  log: (entry: Record<string, unknown>) => void,
): Promise<RunResult[]> {
  const period = previousMonth(svc.clock.now());
  const results: RunResult[] = [];
  for (const unit of await reportingUnits(svc)) {
    try {
      const r = await runRegistryReport(svc, { period, unit, outbox: svc.registryOutbox });
      results.push(r);
      log({ level: 'info', msg: 'registry report', period: period.label, unit, ...r.counts, changed: r.changed });
    } catch (err) {
      log({
        level: 'error',
        msg: 'registry report failed',
        period: period.label,
        unit,
        error: String((err as Error)?.message ?? err),
      });
    }
  }
  return results;
}

/**
 * The node-cron task (created stopped; the server starts it): the expression and time zone are
 * configuration, `noOverlap` keeps one run per process, and the lease per unit and period (in the database)
 * keeps runs of several processes apart.
 */
export function registryTask(
  svc: Services,
  cron: string,
  timezone: string,
  log: (entry: Record<string, unknown>) => void,
): ScheduledTask {
  return createTask(cron, () => runScheduledReports(svc, log), { name: 'registry-report', timezone, noOverlap: true });
}
