import { createHash } from 'node:crypto';
import type { Measure, MeasureReport } from '@medplum/fhirtypes';
import { createTask, type ScheduledTask } from 'node-cron';
import { update } from '../fhir/interactions/write.js';
import type { Services } from '../fhir/services.js';
import { addCalendarDays, osloDate } from '../pathways/calendar.js';
import { findAll } from '../pathways/search.js';
import { reportingUnits } from '../registry/run.js';
import { Lease } from '../storage/lease.js';
import { FORLOP } from './constants.js';
import { readMeasure } from './definition.js';
import { measurementPeriod, type MeasurementPeriod } from './period.js';
import { runEvaluation } from './run.js';

/** 03:30 on the 2nd of each month, in Oslo: after the month is complete, beside the registry reports. */
export const DEFAULT_MEASURE_CRON = '30 3 2 * *';
/** The stored scheduled report of a measure, unit and period: found again, and replaced, by this. */
export const SCHEDULED_REPORT = `${FORLOP}/NamingSystem/scheduled-measure-report`;

export interface ScheduledPeriod {
  label: string;
  period: MeasurementPeriod;
}

type Log = (entry: Record<string, unknown>) => void;

/**
 * What a run reports: the month before `now` (Oslo) and its tertial so far — T1 January–April, T2
 * May–August, T3 September–December — from the tertial's first day to the month's last, so the
 * tertial report grows month by month and is whole after its last month.
 */
export function scheduledPeriods(now: Date): ScheduledPeriod[] {
  const month = addCalendarDays(`${osloDate(now).slice(0, 7)}-01`, -1).slice(0, 7);
  const [year, m] = [Number(month.slice(0, 4)), Number(month.slice(5, 7))];
  const tertial = Math.ceil(m / 4);
  const first = `${year}-${String(tertial * 4 - 3).padStart(2, '0')}`;
  return [
    { label: month, period: measurementPeriod(month, month) },
    { label: `${year}-T${tertial}`, period: measurementPeriod(first, month) },
  ];
}

/** The id a scheduled report is stored under: the same measure, unit and period give the same id. */
export function scheduledId(measure: string, unit: string, label: string): string {
  return `mr-${label}-${createHash('sha256').update(`${measure}\n${unit}\n${label}`).digest('hex').slice(0, 32)}`;
}

/** A report's figures: what a re-run compares (not the date it was made, nor what the store sets). */
function figuresOf(r: MeasureReport): string {
  const { date: _d, meta: _m, id: _i, ...rest } = r;
  return JSON.stringify(rest);
}

/** Stores a report under its id unless the stored one has the same figures: whether it was written. */
async function storeIfChanged(svc: Services, id: string, report: MeasureReport): Promise<boolean> {
  return svc.store.transaction(async (tx) => {
    await svc.store.lockResource(tx, 'MeasureReport', id);
    const prev = await svc.store.current('MeasureReport', id, tx);
    const stored = prev?.content && !prev.deleted ? (JSON.parse(prev.content) as MeasureReport) : undefined;
    if (stored && figuresOf(stored) === figuresOf({ ...report, id })) return false;
    await update(svc, tx, 'MeasureReport', id, { ...report, id });
    return true;
  });
}

/** The Measures a run evaluates: every active one this server can evaluate. */
async function activeMeasures(svc: Services, log: Log): Promise<Measure[]> {
  const all = await findAll<Measure>(svc, 'Measure', 'status=active', svc.store.storage);
  return all.filter((m) => {
    try {
      readMeasure(m);
      return true;
    } catch (err) {
      log({
        level: 'warn',
        msg: 'measure not evaluated on schedule',
        measure: m.url ?? m.id,
        error: String((err as Error).message),
      });
      return false;
    }
  });
}

/** One period: every active Measure for every unit, under a lease so nodes take turns (the second finds it done). */
async function runPeriod(svc: Services, p: ScheduledPeriod, measures: Measure[], units: string[], log: Log) {
  const counts = { written: 0, unchanged: 0, failed: 0 };
  const lease = await Lease.acquire(svc.store.storage, `measures:${p.label}`);
  try {
    for (const measure of measures) {
      for (const unit of units) {
        const canonical = `${measure.url}|${measure.version ?? ''}`;
        try {
          const report = await runEvaluation(svc, measure.id, {
            period: p.period,
            reportType: 'subject-list',
            subject: { type: 'Organization', id: unit },
          });
          report.identifier = [{ system: SCHEDULED_REPORT, value: `${canonical}|Organization/${unit}|${p.label}` }];
          const written = await storeIfChanged(svc, scheduledId(canonical, unit, p.label), report);
          counts[written ? 'written' : 'unchanged']++;
        } catch (err) {
          counts.failed++;
          log({
            level: 'error',
            msg: 'scheduled measure report failed',
            measure: canonical,
            unit,
            period: p.label,
            error: String((err as Error).message),
          });
        }
      }
    }
  } finally {
    await lease.release();
  }
  return counts;
}

/**
 * The scheduled run: for the month before today (Oslo, by the injected clock) and its tertial so
 * far, each active Measure's subject-list report for each unit that manages pathways, stored under an
 * id made of measure, unit and period. Idempotent: a report whose figures are those stored is not
 * written again, so a re-run, or a second node after the first, writes nothing.
 */
export async function runScheduledMeasures(
  svc: Services,
  log: Log,
): Promise<{ written: number; unchanged: number; failed: number }> {
  const measures = await activeMeasures(svc, log);
  const units = await reportingUnits(svc);
  const total = { written: 0, unchanged: 0, failed: 0 };
  for (const p of scheduledPeriods(svc.clock.now())) {
    const counts = await runPeriod(svc, p, measures, units, log);
    log({
      level: 'info',
      msg: 'measure reports',
      period: p.label,
      measures: measures.length,
      units: units.length,
      ...counts,
    });
    for (const k of ['written', 'unchanged', 'failed'] as const) total[k] += counts[k];
  }
  return total;
}

/**
 * Adds the measure reports' node-cron job to the server's jobs (`schedule.cron` from MEASURE_CRON,
 * default the 2nd of the month at 03:30; empty turns it off; the time zone from MEASURE_TIMEZONE,
 * default Europe/Oslo). `noOverlap` keeps one run per process; the lease per period keeps nodes apart.
 */
export async function withMeasureJobs<J extends { stop(): Promise<void> }>(
  jobs: J,
  svc: Services,
  log: Log,
  schedule: { cron: string; timezone: string },
  recordRuns?: (task: ScheduledTask, job: string) => void,
): Promise<J> {
  const { cron, timezone } = schedule;
  if (!cron) return jobs;
  const task = createTask(cron, () => runScheduledMeasures(svc, log), {
    name: 'measure-reports',
    timezone,
    noOverlap: true,
  });
  task.on('execution:failed', (context) =>
    log({
      level: 'error',
      msg: 'measure reports failed; they run again at the next time',
      error: String(context.execution?.error),
    }),
  );
  recordRuns?.(task, 'measure-reports');
  await task.start();
  return {
    ...jobs,
    async stop() {
      await task.stop();
      await jobs.stop();
    },
  };
}
