import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/fhir/clock.js';
import { buildApp } from '../../src/http/app.js';
import { silentLog } from '../../src/http/log.js';
import { openStorage } from '../../src/storage/open.js';
import type { Storage } from '../../src/storage/types.js';
import { BACKENDS } from '../support/backends.js';

const FHIR_JSON = 'application/fhir+json';

const codeSystem = (id: string) => ({
  resourceType: 'CodeSystem',
  id,
  url: `http://forlop.test/CodeSystem/${id}`,
  name: 'Counted',
  status: 'active',
  content: 'complete',
  concept: [{ code: 'a' }],
});

async function started(storage: Storage) {
  const built = buildApp({
    storage,
    baseUrl: 'http://forlop.test/fhir',
    clock: new ManualClock(new Date('2026-10-01T08:00:00Z')),
    log: silentLog,
  });
  await built.ready;
  return built;
}

/** What the generation must equal: the versions of the type in the history, counted the slow way. */
async function historyCount(storage: Storage, type: string): Promise<number> {
  return Number((await storage.get<{ n: number }>('SELECT COUNT(*) AS n FROM history WHERE type = ?', [type]))?.n);
}

/**
 * The generations that key the terminology, plan and search-parameter caches are running counts kept by
 * a trigger on history (issue 21), not counts of the history index: they must move with every version
 * written — one at a time, many in one statement or Bundle, deletions — and a database from a release
 * before the counts starts them from its history.
 */
describe.each(BACKENDS)('versions counted per type, on $name', (backend) => {
  it('equal the history count after single writes, a transaction Bundle and a deletion', async () => {
    const opened = await backend.open();
    try {
      const built = await started(opened.storage);
      const store = built.services.store;
      const before = await store.versionCount(['CodeSystem']);
      expect(before).toBe(await historyCount(opened.storage, 'CodeSystem'));
      const put = (id: string, title?: string) =>
        request(built.app)
          .put(`/fhir/CodeSystem/${id}`)
          .set('Content-Type', FHIR_JSON)
          .send({ ...codeSystem(id), title });
      expect((await put('counted-1')).status).toBe(201);
      expect((await put('counted-1', 'Changed')).status).toBe(200);
      const bundle = {
        resourceType: 'Bundle',
        type: 'transaction',
        entry: ['counted-2', 'counted-3', 'counted-4'].map((id) => ({
          resource: codeSystem(id),
          request: { method: 'PUT', url: `CodeSystem/${id}` },
        })),
      };
      const posted = await request(built.app).post('/fhir').set('Content-Type', FHIR_JSON).send(bundle);
      expect(posted.status, JSON.stringify(posted.body)).toBe(200);
      expect((await request(built.app).delete('/fhir/CodeSystem/counted-3')).status).toBe(204);
      // 2 + 3 + 1 versions
      expect(await store.versionCount(['CodeSystem'])).toBe(await historyCount(opened.storage, 'CodeSystem'));
      expect(await store.versionCount(['CodeSystem'])).toBe(before + 6);
      // a type with no running count is counted in the history, and a Patient write moves no count
      const patient = await request(built.app)
        .post('/fhir/Patient')
        .set('Content-Type', FHIR_JSON)
        .send({ resourceType: 'Patient', name: [{ family: 'Telt' }] });
      expect(patient.status).toBe(201);
      expect(await store.versionCount(['Patient'])).toBe(await historyCount(opened.storage, 'Patient'));
      const rows = await opened.storage.all<{ type: string }>("SELECT type FROM type_versions WHERE type = 'Patient'");
      expect(rows).toEqual([]);
    } finally {
      await opened.cleanup();
    }
  });

  it('start from the history in a database made before them, and count on from there', async () => {
    const opened = await backend.open();
    try {
      const first = await started(opened.storage);
      const put = (app: typeof first.app, id: string) =>
        request(app).put(`/fhir/CodeSystem/${id}`).set('Content-Type', FHIR_JSON).send(codeSystem(id));
      expect((await put(first.app, 'old-1')).status).toBe(201);
      // as the release before the running counts made it: no table, no trigger
      if (backend.name === 'postgres') await opened.storage.run('DROP TRIGGER history_counts_versions ON history');
      else await opened.storage.run('DROP TRIGGER history_counts_versions');
      await opened.storage.run('DROP TABLE type_versions');
      // opened again by this version, as after an upgrade
      const storage = await openStorage(opened.url);
      try {
        const upgraded = await started(storage);
        const expected = await historyCount(storage, 'CodeSystem');
        expect(expected).toBeGreaterThan(0);
        expect(await upgraded.services.store.versionCount(['CodeSystem'])).toBe(expected);
        expect((await put(upgraded.app, 'new-1')).status).toBe(201);
        expect(await upgraded.services.store.versionCount(['CodeSystem'])).toBe(expected + 1);
        // what the counts key: the new CodeSystem is known to the terminology at once
        const validated = await request(upgraded.app)
          .get('/fhir/CodeSystem/$validate-code')
          .query({ url: 'http://forlop.test/CodeSystem/new-1', code: 'a' });
        expect(validated.body.parameter.find((p: { name: string }) => p.name === 'result').valueBoolean).toBe(true);
      } finally {
        await storage.close();
      }
    } finally {
      await opened.cleanup();
    }
  });
});
