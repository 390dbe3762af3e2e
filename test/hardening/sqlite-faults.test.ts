import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/fhir/clock.js';
import { buildApp } from '../../src/http/app.js';
import { silentLog } from '../../src/http/log.js';
import { openStorage } from '../../src/storage/open.js';
import { SqliteStorage, type SqliteOptions } from '../../src/storage/sqlite.js';
import { lockSqlite } from '../support/sqlite-locker.js';

/**
 * The embedded backend's edges (issue 15): a full disk (SQLITE_FULL, reproduced with a page quota,
 * which SQLite reports the same way) is 507; a file another process keeps locked past the busy
 * timeout (SQLITE_BUSY) is 503 with Retry-After, and at start-up an error that names the file.
 */
const FHIR_JSON = 'application/fhir+json';
let dir: string;
let file: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'forlop-sqlite-faults-'));
  file = join(dir, 'forlop.db');
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

async function serve(options: SqliteOptions) {
  const storage = new SqliteStorage(file, options);
  const built = buildApp({
    storage,
    baseUrl: 'http://forlop.test/fhir',
    clock: new ManualClock(new Date('2026-10-01T08:00:00Z')),
    log: silentLog,
    audit: false,
  });
  await built.ready;
  return { storage, http: () => request(built.app) };
}

const bigPatient = (i: number) => ({
  resourceType: 'Patient',
  name: [{ family: `Full${i}`, text: 'x'.repeat(40_000) }],
});

describe('a full database (SQLITE_FULL)', () => {
  it('is 507 with a no-store OperationOutcome, never 500; nothing half written; reads go on', async () => {
    // a quota of 1 page is raised by SQLite to the database's size now: no write may grow it
    const { storage, http } = await serve({ maxPages: 1 });
    try {
      const answers = await Promise.all(
        [1, 2, 3].map((i) => http().post('/fhir/Patient').set('Content-Type', FHIR_JSON).send(bigPatient(i))),
      );
      for (const res of answers) {
        expect(res.status).toBe(507);
        expect(res.body.resourceType).toBe('OperationOutcome');
        expect(res.body.issue[0]).toMatchObject({ severity: 'error', code: 'no-store' });
        expect(res.body.issue[0].diagnostics).toMatch(/database is full/);
        expect(res.headers['retry-after']).toBeUndefined();
      }
      const search = await http().get('/fhir/Patient?_summary=count');
      expect(search.status).toBe(200);
      expect(search.body.total).toBe(0);
      expect((await storage.get<{ n: number }>('SELECT COUNT(*) AS n FROM history'))?.n).toBe(0);
    } finally {
      await storage.close();
    }
  });
});

describe('a database file locked by another process (SQLITE_BUSY)', () => {
  it('a write waits the busy timeout, then is 503; reads go on; writes succeed once the lock is gone', async () => {
    const { storage, http } = await serve({ busyTimeoutMs: 300 });
    const locker = await lockSqlite(file, 'write');
    try {
      const refused = await http()
        .post('/fhir/Patient')
        .set('Content-Type', FHIR_JSON)
        .send({ resourceType: 'Patient', name: [{ family: 'Venter' }] });
      expect(refused.status).toBe(503);
      expect(refused.headers['retry-after']).toBe('1');
      expect(refused.body.issue[0].code).toBe('transient');
      expect(refused.body.issue[0].diagnostics).toContain(refused.headers['x-request-id']);
      expect((await http().get('/fhir/Patient?_summary=count')).body.total).toBe(0);
    } finally {
      await locker.release();
    }
    try {
      const accepted = await http()
        .post('/fhir/Patient')
        .set('Content-Type', FHIR_JSON)
        .send({ resourceType: 'Patient', name: [{ family: 'Venter' }] });
      expect(accepted.status).toBe(201);
      expect((await http().get('/fhir/Patient?family=Venter')).body.entry).toHaveLength(1);
    } finally {
      await storage.close();
    }
  });

  it('at start-up: an error that names the file and says it is locked', async () => {
    await new SqliteStorage(file).close(); // an existing database, in WAL mode
    const locker = await lockSqlite(file, 'exclusive');
    const escaped = file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
    try {
      await expect(openStorage(`sqlite:${file}`, { busyTimeoutMs: 300 })).rejects.toThrow(
        new RegExp(`^Cannot open the SQLite database ${escaped}: it is locked by another process .*\\(SQLITE_BUSY\\)$`),
      );
    } finally {
      await locker.release();
    }
    const storage = await openStorage(`sqlite:${file}`, { busyTimeoutMs: 300 });
    expect(await storage.get('SELECT 1 AS ok')).toEqual({ ok: 1 });
    await storage.close();
  });
});

describe('two nodes of one process on one database file', () => {
  it('write side by side without waiting out the busy timeout: every create 201, each found once', async () => {
    // a node holding its group open across the WAL sync would stall the other's BEGIN (sqlite.ts)
    const nodes = [await serve({ busyTimeoutMs: 2_000 }), await serve({ busyTimeoutMs: 2_000 })];
    const answers: Promise<request.Response>[] = [];
    try {
      // a create every millisecond, to each node in turn: writes keep arriving while the WAL syncs
      for (let i = 0; i < 100; i++) {
        const res = nodes[i % 2]
          .http()
          .post('/fhir/Patient')
          .set('Content-Type', FHIR_JSON)
          .send({ resourceType: 'Patient', name: [{ family: `Side${i}` }] });
        answers.push(res.then((r) => r)); // then() sends it now, not when all are awaited
        await new Promise((resolve) => setTimeout(resolve, 1));
      }
      expect((await Promise.all(answers)).map((res) => res.status)).toEqual(Array(100).fill(201));
      expect((await nodes[0].http().get('/fhir/Patient?_summary=count')).body.total).toBe(100);
      expect((await nodes[1].http().get('/fhir/Patient?family=Side98')).body.total).toBe(1);
    } finally {
      for (const node of nodes) await node.storage.close();
    }
  });
});
