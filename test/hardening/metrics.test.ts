import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { ManualClock } from '../../src/fhir/clock.js';
import { buildApp, STARTUP_LOADING, type App } from '../../src/http/app.js';
import { silentLog } from '../../src/http/log.js';
import { startScheduledJobs } from '../../src/scheduled.js';
import { startServer } from '../../src/server.js';
import { SqliteStorage } from '../../src/storage/sqlite.js';
import { BACKENDS } from '../support/backends.js';
import { freePort } from '../support/net.js';
import { FHIR_JSON, useServer } from '../support/server.js';
import { lockSqlite } from '../support/sqlite-locker.js';

/**
 * Operability (issue 15): `/metrics` in Prometheus text format (requests by interaction, type and
 * status with their latency; the database pools and errors; scheduled jobs; the audit queue) and
 * `/readyz` (start-up done, database answering, not draining).
 */
type Labels = Record<string, string>;

/** The value of the sample `name` with exactly these labels in Prometheus text, or undefined. */
function sample(text: string, name: string, labels: Labels = {}): number | undefined {
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const found: Labels = {};
    for (const l of (m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) found[l[1]] = l[2];
    if (JSON.stringify(Object.entries(found).sort()) === JSON.stringify(Object.entries(labels).sort())) {
      return Number(m[3]);
    }
  }
  return undefined;
}

const patient = { resourceType: 'Patient', name: [{ family: 'Nordmann', given: ['Kari'] }] };

describe.each(BACKENDS)('/metrics on $name', (backend) => {
  const t = useServer(backend, { audit: true });
  let text: string;

  beforeAll(async () => {
    const http = t.http();
    const created = await http.post('/fhir/Patient').set('Content-Type', FHIR_JSON).send(patient);
    expect(created.status).toBe(201);
    const id = created.body.id as string;
    expect((await http.get(`/fhir/Patient/${id}`)).status).toBe(200);
    expect((await http.get(`/fhir/Patient/${id}`)).status).toBe(200);
    expect((await http.get('/fhir/Patient?family=Nordmann')).status).toBe(200);
    expect((await http.get('/fhir/Patient/no-such-patient')).status).toBe(404);
    const bundle = {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [{ resource: patient, request: { method: 'POST', url: 'Patient' } }],
    };
    expect((await http.post('/fhir').set('Content-Type', FHIR_JSON).send(bundle)).status).toBe(200);
    expect((await http.get('/fhir/Nonsense/abc-secret-id')).status).toBe(404);
    expect((await http.get('/fhir/no/such/route/here')).status).toBe(404);
    await t.services.auditLog?.flush();
    const res = await http.get('/metrics');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    text = res.text;
  });

  it('counts requests by interaction, resource type and status', () => {
    const requests = (interaction: string, type: string, status: string) =>
      sample(text, 'forlop_http_requests_total', { interaction, type, status });
    expect(requests('create', 'Patient', '201')).toBe(1);
    expect(requests('read', 'Patient', '200')).toBe(2);
    expect(requests('read', 'Patient', '404')).toBe(1);
    expect(requests('search-type', 'Patient', '200')).toBe(1);
    expect(requests('transaction', '', '200')).toBe(1);
    // the Bundle's entry is not a request of its own
    expect(requests('create', 'Patient', '201')).toBe(1);
  });

  it('keeps label values bounded: no raw path, id or unknown type', () => {
    expect(text).not.toContain('Nonsense');
    expect(text).not.toContain('abc-secret-id');
    expect(text).not.toContain('no-such-patient');
    expect(sample(text, 'forlop_http_requests_total', { interaction: 'read', type: '', status: '404' })).toBe(1);
    expect(sample(text, 'forlop_http_requests_total', { interaction: 'unknown', type: '', status: '404' })).toBe(1);
  });

  it('has a latency histogram per interaction and type', () => {
    const hist = (suffix: string, labels: Labels) =>
      sample(text, `forlop_http_request_duration_seconds${suffix}`, labels);
    expect(hist('_count', { interaction: 'read', type: 'Patient' })).toBe(3);
    expect(hist('_bucket', { interaction: 'read', type: 'Patient', le: '+Inf' })).toBe(3);
    expect(hist('_sum', { interaction: 'read', type: 'Patient' })).toBeGreaterThan(0);
    expect(hist('_count', { interaction: 'transaction', type: '' })).toBe(1);
  });

  it('shows database errors by fault class, and the pools of PostgreSQL', () => {
    const errors = (fault: string) => sample(text, 'forlop_db_errors_total', { backend: backend.name, fault });
    expect(errors('transient')).toBe(0);
    expect(errors('full')).toBe(0);
    expect(errors('other')).toBeGreaterThanOrEqual(0);
    const pool = (name: string, state: string) => sample(text, 'forlop_db_pool_clients', { pool: name, state });
    if (backend.name === 'postgres') {
      for (const name of ['writers', 'readers']) {
        expect(pool(name, 'total')).toBeGreaterThanOrEqual(1);
        expect(pool(name, 'idle')).toBe(pool(name, 'total')); // nothing runs between requests
        expect(pool(name, 'waiting')).toBe(0);
      }
    } else {
      expect(text).not.toMatch(/^forlop_db_pool_clients\{/m);
    }
  });

  it('shows the audit queue, empty once flushed', () => {
    expect(sample(text, 'forlop_audit_queue_length')).toBe(0);
  });

  it('shows the audit journal, emptied when the trail is read', async () => {
    // the reads after the transaction (which materialised what came before it) wait in the journal
    expect(sample(text, 'forlop_audit_journal_length')).toBeGreaterThanOrEqual(2);
    expect((await t.http().get('/fhir/AuditEvent?subtype=read')).status).toBe(200);
    await t.services.auditLog?.flush();
    // all materialised before the search ran; journalled since: the search's own event
    expect(sample((await t.http().get('/metrics')).text, 'forlop_audit_journal_length')).toBe(1);
  });

  it('answers /readyz 200 once ready, /healthz still 200', async () => {
    const ready = await t.http().get('/readyz');
    expect(ready.status).toBe(200);
    expect(ready.body).toEqual({ status: 'ready', storage: backend.name });
    expect((await t.http().get('/healthz')).status).toBe(200);
  });
});

describe('an app with start-up loading, an audit queue and jobs (SQLite)', () => {
  let dir: string;
  let storage: SqliteStorage;
  let built: App;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'forlop-metrics-'));
    storage = new SqliteStorage(join(dir, 'forlop.db'), { busyTimeoutMs: 100 });
    const clock = new ManualClock(new Date('2026-10-01T08:00:00Z'));
    built = buildApp({
      storage,
      baseUrl: 'http://forlop.test/fhir',
      clock,
      log: silentLog,
      audit: true,
      startupLoading: true,
    });
    await built.ready;
  });

  afterAll(async () => {
    await storage.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers /readyz 503 (transient) until start-up loading is done, then 200', async () => {
    const before = await request(built.app).get('/readyz');
    expect(before.status).toBe(503);
    expect(before.headers['retry-after']).toBe('1');
    expect(before.body.resourceType).toBe('OperationOutcome');
    expect(before.body.issue[0]).toMatchObject({ severity: 'error', code: 'transient' });
    expect(before.body.issue[0].diagnostics).toContain(STARTUP_LOADING);
    built.readiness.done(STARTUP_LOADING);
    expect((await request(built.app).get('/readyz')).status).toBe(200);
  });

  it('shows the audit events queued while the database refuses them', async () => {
    const created = await request(built.app)
      .put('/fhir/Patient/kari')
      .set('Content-Type', FHIR_JSON)
      .send({ ...patient, id: 'kari' });
    expect(created.status).toBe(201);
    const locker = await lockSqlite(join(dir, 'forlop.db'), 'write');
    try {
      for (let i = 0; i < 2; i++) expect((await request(built.app).get('/fhir/Patient/kari')).status).toBe(200);
      await built.services.auditLog?.flush();
      const metrics = await request(built.app).get('/metrics');
      expect(sample(metrics.text, 'forlop_audit_queue_length')).toBe(2);
      expect(
        sample(metrics.text, 'forlop_db_errors_total', { backend: 'sqlite', fault: 'transient' }),
      ).toBeGreaterThanOrEqual(1);
    } finally {
      await locker.release();
    }
    await built.services.auditLog?.flush();
    expect(sample((await request(built.app).get('/metrics')).text, 'forlop_audit_queue_length')).toBe(0);
  });

  it('counts a scheduled job run with its outcome and duration', async () => {
    const config = loadConfig({ DEADLINE_CRON: '* * * * * *', REGISTRY_CRON: '' });
    const jobs = await startScheduledJobs(config, built.services, silentLog, built.metrics.recordJob);
    const runs = async () =>
      sample((await request(built.app).get('/metrics')).text, 'forlop_job_runs_total', {
        job: 'deadlines',
        outcome: 'ok',
      });
    try {
      await expect.poll(runs, { timeout: 5_000, interval: 200 }).toBeGreaterThanOrEqual(1);
    } finally {
      await jobs.stop();
    }
    const text = (await request(built.app).get('/metrics')).text;
    const count = sample(text, 'forlop_job_duration_seconds_count', { job: 'deadlines', outcome: 'ok' });
    expect(count).toBe(sample(text, 'forlop_job_runs_total', { job: 'deadlines', outcome: 'ok' }));
    expect(sample(text, 'forlop_job_runs_total', { job: 'deadlines', outcome: 'failed' })).toBeUndefined();
  });

  it('serves no /metrics when turned off', async () => {
    const off = buildApp({ storage, baseUrl: 'http://forlop.test/fhir', log: silentLog, metrics: { enabled: false } });
    await off.ready;
    expect((await request(off.app).get('/metrics')).status).toBe(404);
    expect((await request(off.app).get('/readyz')).status).toBe(200);
  });
});

describe('/readyz while the server stops', () => {
  it('turns 503 as soon as shutdown begins, while requests are still served during the drain', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'forlop-readyz-'));
    const port = await freePort();
    const running = await startServer(
      loadConfig({
        PORT: String(port),
        DATABASE_URL: `sqlite:${join(dir, 'forlop.db')}`,
        LOAD_EXAMPLES: 'false',
        LOG_REQUESTS: 'false',
        DEADLINE_CRON: '',
        REGISTRY_CRON: '',
        SHUTDOWN_DRAIN_MS: '1000',
      }),
    );
    const url = `http://127.0.0.1:${port}`;
    try {
      expect((await fetch(`${url}/readyz`)).status).toBe(200);
      const metrics = await (await fetch(`${url}/metrics`)).text();
      expect(sample(metrics, 'forlop_process_resident_memory_bytes')).toBeGreaterThan(0);
      const stopped = running.stop();
      const draining = await fetch(`${url}/readyz`);
      expect(draining.status).toBe(503);
      const outcome = (await draining.json()) as { issue: { code: string; diagnostics: string }[] };
      expect(outcome.issue[0]).toMatchObject({
        code: 'transient',
        diagnostics: 'Not ready: the server is shutting down',
      });
      expect((await fetch(`${url}/healthz`)).status).toBe(200); // alive, only not ready
      expect((await fetch(`${url}/fhir/metadata`)).status).toBe(200); // still served while draining
      await stopped;
      await expect(fetch(`${url}/readyz`)).rejects.toThrow();
    } finally {
      await running.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
