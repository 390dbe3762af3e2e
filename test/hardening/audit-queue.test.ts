import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/fhir/clock.js';
import { buildApp, type App } from '../../src/http/app.js';
import { SqliteStorage } from '../../src/storage/sqlite.js';
import { lockSqlite, type SqliteLocker } from '../support/sqlite-locker.js';

/**
 * The batched audit log while the database cannot take its batches (issue 15): the events are kept,
 * in a queue of AUDIT_QUEUE_LIMIT events; at the limit a request on patient data is refused (503)
 * rather than answered unaudited; once the database takes writes again every kept event is stored.
 * The database is made to refuse writes for real: another process holds its write lock.
 */
const FHIR_JSON = 'application/fhir+json';
const LIMIT = 3;
let dir: string;
let storage: SqliteStorage;
let built: App;
let locker: SqliteLocker | undefined;
const logs: Record<string, unknown>[] = [];

/** Events kept durably: journalled (issue 21), or already AuditEvent resources. */
const auditEvents = async () =>
  Number(
    (
      await storage.get<{ n: number }>(
        `SELECT (SELECT COUNT(*) FROM resources WHERE type = 'AuditEvent') +
                (SELECT COUNT(*) FROM audit_journal) AS n`,
      )
    )?.n,
  );

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'forlop-audit-queue-'));
  storage = new SqliteStorage(join(dir, 'forlop.db'), { busyTimeoutMs: 100 });
  built = buildApp({
    storage,
    baseUrl: 'http://forlop.test/fhir',
    clock: new ManualClock(new Date('2026-10-01T08:00:00Z')),
    log: (e) => logs.push(e),
    audit: true,
    auditQueueLimit: LIMIT,
  });
  await built.ready;
});

afterAll(async () => {
  await locker?.release();
  await storage.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('the audit queue while the database refuses writes', () => {
  it('keeps the events, refuses audited requests at the limit (503), stores every kept one afterwards', async () => {
    const http = () => request(built.app);
    const created = await http()
      .put('/fhir/Patient/kari')
      .set('Content-Type', FHIR_JSON)
      .send({ resourceType: 'Patient', id: 'kari', name: [{ family: 'Nordmann' }] });
    expect(created.status).toBe(201);
    expect(await auditEvents()).toBe(1); // a write is audited in its own transaction

    locker = await lockSqlite(join(dir, 'forlop.db'), 'write');
    for (let i = 0; i < LIMIT; i++) expect((await http().get('/fhir/Patient/kari')).status).toBe(200);
    await built.services.auditLog?.flush();
    expect(built.services.auditLog?.queued).toBe(LIMIT);
    expect(
      logs.some((l) => l.msg === 'audit batch not written; kept and written again later' && l.level === 'error'),
    ).toBe(true);

    const refused = await http().get('/fhir/Patient/kari');
    expect(refused.status).toBe(503);
    expect(refused.headers['retry-after']).toBe('1');
    expect(refused.body.resourceType).toBe('OperationOutcome');
    expect(refused.body.issue[0]).toMatchObject({ code: 'transient' });
    expect(refused.body.issue[0].diagnostics).toMatch(/audit trail cannot be written/);
    expect(JSON.stringify(refused.body)).not.toContain('Nordmann'); // nothing shown unaudited
    // requests that touch no patient data are not held back
    expect((await http().get('/fhir/metadata')).status).toBe(200);

    await locker.release();
    locker = undefined;
    await expect.poll(auditEvents, { timeout: 10_000, interval: 100 }).toBe(1 + LIMIT);
    // the rows are visible at COMMIT; the queue lets go of them once the commit is on disk (WAL sync)
    await expect.poll(() => built.services.auditLog?.queued, { timeout: 10_000, interval: 50 }).toBe(0);
    const reads = await http().get('/fhir/AuditEvent?subtype=read&outcome=0');
    expect(reads.status).toBe(200);
    expect(
      reads.body.entry.filter((e: { resource: { entity?: { what?: { reference?: string } }[] } }) =>
        e.resource.entity?.some((x) => x.what?.reference === 'Patient/kari'),
      ),
    ).toHaveLength(LIMIT);
    expect((await http().get('/fhir/Patient/kari')).status).toBe(200);
  });
});
