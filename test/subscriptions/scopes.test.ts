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

  it('refuses a Subscription written with a patient/ scope: Subscription is outside the compartment', async () => {
    const res = await create('patient/*.cruds', 'Task?business-status=overdue&patient=Patient/anna', 'anna');
    expect(res.status, JSON.stringify(res.body)).toBe(403);
  });
});
