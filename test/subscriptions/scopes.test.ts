import { beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS } from '../support/backends.js';
import { FHIR_JSON } from '../support/server.js';
import { makeKeys, signToken, useSecureServer, type Keys } from '../security/support.js';
import { restHook } from './support.js';

let keys: Keys;
beforeAll(async () => {
  keys = await makeKeys();
});

/**
 * A Subscription shows its creator what its criteria match, over every patient (events are matched as the
 * server): creating one needs search on the criteria's type for all patients, besides Subscription create.
 */
describe.each(BACKENDS)('who may subscribe, on $name', (backend) => {
  const t = useSecureServer(backend, () => keys);
  const create = async (scope: string, criteria: string, patient?: string) => {
    const token = await signToken(keys, { scope, ...(patient ? { patient } : {}) }, { now: t.clock.now() });
    return t
      .http()
      .post('/fhir/Subscription')
      .set('Authorization', `Bearer ${token}`)
      .set('Content-Type', FHIR_JSON)
      .send(restHook(criteria, 'http://127.0.0.1:9/hook'));
  };

  it('refuses (403) a token that may create Subscriptions but not search what they match', async () => {
    const res = await create('user/Subscription.cruds', 'Task?business-status=overdue');
    expect(res.status, JSON.stringify(res.body)).toBe(403);
    expect(res.body.resourceType).toBe('OperationOutcome');
  });

  it('accepts a token that may search the criteria type too', async () => {
    const res = await create('user/Subscription.cruds user/Task.rs', 'Task?business-status=overdue');
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.body.status).toBe('requested');
  });

  it('lets a patient/ scope create, read, update and delete a Subscription limited to its own patient', async () => {
    const scope = 'patient/*.cruds';
    const res = await create(scope, 'Task?business-status=overdue&patient=Patient/anna', 'anna');
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    const auth = `Bearer ${await signToken(keys, { scope, patient: 'anna' }, { now: t.clock.now() })}`;
    const url = `/fhir/Subscription/${res.body.id}`;
    const read = await t.http().get(url).set('Authorization', auth);
    expect(read.status, JSON.stringify(read.body)).toBe(200);
    const off = { ...read.body, status: 'off' };
    const put = await t.http().put(url).set('Authorization', auth).set('Content-Type', FHIR_JSON).send(off);
    expect(put.status, JSON.stringify(put.body)).toBe(200);
    expect(put.body.status).toBe('off');
    expect((await t.http().delete(url).set('Authorization', auth)).status).toBe(204);
  });

  it('refuses (403) a patient/ Subscription scope a Subscription not limited to its patient', async () => {
    // search on every Task (user/), so only the Subscription scope's own limit is left to refuse it
    const scope = 'patient/Subscription.cruds user/Task.rs';
    for (const criteria of ['Task?business-status=overdue', 'Task?business-status=overdue&patient=Patient/bob']) {
      const res = await create(scope, criteria, 'anna');
      expect(res.status, `${criteria}: ${JSON.stringify(res.body)}`).toBe(403);
      expect(res.body.issue[0].diagnostics).toMatch(/limited to its own patient/);
    }
  });

  it("keeps another patient's Subscription out of a patient/ scope's reach, and Subscription search", async () => {
    const admin = await create('user/Subscription.cruds user/Task.rs', 'Task?patient=Patient/bob');
    expect(admin.status, JSON.stringify(admin.body)).toBe(201);
    const token = await signToken(keys, { scope: 'patient/*.cruds', patient: 'anna' }, { now: t.clock.now() });
    const auth = `Bearer ${token}`;
    const url = `/fhir/Subscription/${admin.body.id}`;
    expect((await t.http().get(url).set('Authorization', auth)).status).toBe(404);
    expect((await t.http().delete(url).set('Authorization', auth)).status).toBe(404);
    const search = await t.http().get('/fhir/Subscription').set('Authorization', auth);
    expect(search.status, JSON.stringify(search.body)).toBe(403);
  });
});
