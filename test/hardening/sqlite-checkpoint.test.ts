import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/fhir/clock.js';
import { buildApp } from '../../src/http/app.js';
import { silentLog } from '../../src/http/log.js';
import { SqliteStorage } from '../../src/storage/sqlite.js';

const FHIR_JSON = 'application/fhir+json';

/**
 * The embedded backend's write path (issue 21): commits are synced off the event loop and the WAL is
 * checkpointed on a thread of its own, SQLite's in-COMMIT checkpoints being off. Written over HTTP,
 * the WAL's pages reach the database file while the server runs (so the WAL does not grow without
 * end), and everything acknowledged is there after the database is closed and opened again.
 */
describe('the SQLite write-ahead log on a checkpointing thread', () => {
  let dir: string;
  let file: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'forlop-checkpoint-'));
    file = join(dir, 'forlop.db');
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('copies the WAL into the database while serving, and keeps every acknowledged write', async () => {
    const storage = new SqliteStorage(file, { checkpointEveryMs: 50 });
    const built = buildApp({
      storage,
      baseUrl: 'http://forlop.test/fhir',
      clock: new ManualClock(new Date('2026-10-01T08:00:00Z')),
      log: silentLog,
      audit: false,
    });
    await built.ready;
    const before = statSync(file).size;
    const ids: string[] = [];
    for (let round = 0; round < 20; round++) {
      const entry = Array.from({ length: 25 }, (_, i) => ({
        resource: { resourceType: 'Patient', name: [{ family: `Sjekkpunkt${round}-${i}`, given: ['Kari'] }] },
        request: { method: 'POST', url: 'Patient' },
      }));
      const res = await request(built.app)
        .post('/fhir')
        .set('Content-Type', FHIR_JSON)
        .send({ resourceType: 'Bundle', type: 'transaction', entry });
      expect(res.status).toBe(200);
      for (const e of res.body.entry) ids.push(e.response.location.split('/')[1]);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    // the database file grew while the server ran: only a checkpoint writes pages into it
    await expect.poll(() => statSync(file).size, { timeout: 10_000 }).toBeGreaterThan(before + 200_000);
    await storage.close();

    const reopened = new SqliteStorage(file);
    try {
      const row = await reopened.get<{ n: number }>(`SELECT COUNT(*) AS n FROM resources WHERE type = 'Patient'`);
      expect(row?.n).toBe(500);
      expect(ids).toHaveLength(500);
    } finally {
      await reopened.close();
    }
  });
});
