import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { AuditLog } from '../security/audit.js';
import type { Storage } from '../storage/types.js';

/** A request's labels: bounded sets only (the route's interaction and type), never a raw path or id. */
export interface RequestLabels {
  interaction: string;
  type: string;
}

export type JobOutcome = 'ok' | 'failed';

/** Seconds: 5 ms (a read from cache) to 30 s (a large transaction, the request timeout). */
const REQUEST_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
/** Seconds: jobs run from a second (no pathways) to an hour (a registry report of a large unit). */
const JOB_BUCKETS = [1, 5, 15, 60, 300, 900, 3600];

/**
 * The app's Prometheus metrics, in a registry of its own (several apps in one test process do not
 * collide). Requests and jobs are counted as they happen; the pools, database errors and audit
 * queue are read at scrape time by collect callbacks, so nothing polls.
 */
export class Metrics {
  readonly registry = new Registry();
  private readonly requests: Counter<'interaction' | 'type' | 'status'>;
  private readonly duration: Histogram<'interaction' | 'type'>;
  private readonly jobRuns: Counter<'job' | 'outcome'>;
  private readonly jobDuration: Histogram<'job' | 'outcome'>;

  constructor(storage: Storage, auditLog: () => AuditLog | undefined, processMetrics = false) {
    const registers = [this.registry];
    this.requests = new Counter({
      name: 'forlop_http_requests_total',
      help: 'FHIR requests by interaction, resource type and status',
      labelNames: ['interaction', 'type', 'status'],
      registers,
    });
    this.duration = new Histogram({
      name: 'forlop_http_request_duration_seconds',
      help: 'FHIR request latency by interaction and resource type',
      labelNames: ['interaction', 'type'],
      buckets: REQUEST_BUCKETS,
      registers,
    });
    this.jobRuns = new Counter({
      name: 'forlop_job_runs_total',
      help: 'Scheduled job runs by job and outcome',
      labelNames: ['job', 'outcome'],
      registers,
    });
    this.jobDuration = new Histogram({
      name: 'forlop_job_duration_seconds',
      help: 'Scheduled job run time by job and outcome',
      labelNames: ['job', 'outcome'],
      buckets: JOB_BUCKETS,
      registers,
    });
    storageMetrics(this.registry, storage);
    new Gauge({
      name: 'forlop_audit_queue_length',
      help: 'Audit events waiting to be written (they queue while the database is away)',
      registers,
      collect() {
        this.set(auditLog()?.queued ?? 0);
      },
    });
    new Gauge({
      name: 'forlop_audit_journal_length',
      help: 'Audit events journalled and not yet AuditEvent resources (materialised in bulk)',
      registers,
      async collect() {
        const journal = auditLog()?.journal;
        // with the database away the scrape still answers: the gauge keeps its last value
        const pending = await journal?.pending().catch(() => undefined);
        if (pending !== undefined) this.set(pending);
      },
    });
    if (processMetrics) collectDefaultMetrics({ register: this.registry, prefix: 'forlop_' });
  }

  observeRequest(labels: RequestLabels, status: number, seconds: number): void {
    this.requests.inc({ ...labels, status });
    this.duration.observe(labels, seconds);
  }

  /** A job's run (an arrow, so the scheduler can be handed it alone). */
  readonly recordJob = (job: string, outcome: JobOutcome, seconds: number): void => {
    this.jobRuns.inc({ job, outcome });
    this.jobDuration.observe({ job, outcome }, seconds);
  };
}

/** Pool clients (PostgreSQL) and database errors by fault class, as the backend counts them. */
function storageMetrics(registry: Registry, storage: Storage): void {
  new Gauge({
    name: 'forlop_db_pool_clients',
    help: 'Database pool clients: open (total), idle, and requests waiting for one',
    labelNames: ['pool', 'state'],
    registers: [registry],
    collect() {
      this.reset();
      for (const p of storage.stats?.().pools ?? []) {
        this.set({ pool: p.pool, state: 'total' }, p.total);
        this.set({ pool: p.pool, state: 'idle' }, p.idle);
        this.set({ pool: p.pool, state: 'waiting' }, p.waiting);
      }
    },
  });
  new Counter({
    name: 'forlop_db_errors_total',
    help: 'Database errors by storage fault class (transient, full, other)',
    labelNames: ['backend', 'fault'],
    registers: [registry],
    collect() {
      // the backend keeps the running totals; the counter shows them as they are at this scrape
      this.reset();
      const errors = storage.stats?.().errors;
      for (const [fault, n] of Object.entries(errors ?? {}) as [string, number][]) {
        this.inc({ backend: storage.kind, fault }, n);
      }
    },
  });
}
