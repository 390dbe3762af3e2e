import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/fhir/clock.js';
import { buildApp } from '../../src/http/app.js';
import { silentLog } from '../../src/http/log.js';
import { openStorage } from '../../src/storage/open.js';
import { BACKENDS } from '../support/backends.js';

const FHIR_JSON = 'application/fhir+json';

/**
 * A database made by an earlier release: its tables lack the columns added since (src/storage/
 * added-columns.ts), which `CREATE TABLE IF NOT EXISTS` would never add. Opened by this version, it
 * gets them, and what needs them works — here a Subscription, whose state row gained `channel`.
 */
describe.each(BACKENDS)('a database from an earlier release, on $name', (backend) => {
  it('gains the columns added since when it is opened, and serves what needs them', async () => {
    const opened = await backend.open();
    try {
      // as the release before websocket Subscriptions made it
      await opened.storage.run('ALTER TABLE subscription_state DROP COLUMN channel');
      // opened again by this version (a second connection to the same database, as after an upgrade)
      const storage = await openStorage(opened.url);
      try {
        const built = buildApp({
          storage,
          baseUrl: 'http://forlop.test/fhir',
          clock: new ManualClock(new Date('2026-10-01T08:00:00Z')),
          log: silentLog,
          subscriptions: { endpoints: ['https://ehr.example.org/hooks/'] },
        });
        await built.ready;
        const created = await request(built.app)
          .post('/fhir/Subscription')
          .set('Content-Type', FHIR_JSON)
          .send({
            resourceType: 'Subscription',
            status: 'requested',
            reason: 'upgrade',
            criteria: 'Task?status=ready',
            channel: { type: 'rest-hook', endpoint: 'https://ehr.example.org/hooks/a' },
          });
        expect(created.status, JSON.stringify(created.body)).toBe(201);
        const row = await storage.get<{ channel: string }>('SELECT channel FROM subscription_state WHERE id = ?', [
          created.body.id,
        ]);
        expect(row?.channel).toBe('rest-hook');
      } finally {
        await storage.close();
      }
    } finally {
      await opened.cleanup();
    }
  });
});
