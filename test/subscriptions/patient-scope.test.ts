import { beforeAll, describe, expect, it } from 'vitest';
import type { Task } from '@medplum/fhirtypes';
import { BACKENDS } from '../support/backends.js';
import { FHIR_JSON } from '../support/server.js';
import { makeKeys, signToken, useSecureServer, type Keys } from '../security/support.js';
import { restHook, useDelivery, useEndpoint, waitFor } from './support.js';

const FILTER = 'http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-filter-criteria';

let keys: Keys;
beforeAll(async () => {
  keys = await makeKeys();
});

/**
 * A SMART `patient/` token subscribes to its own patient only: events are matched as the server, so its
 * criteria must be limited to its patient (`patient=Patient/<own>`); other patients, or none, are 403.
 */
describe.each(BACKENDS)('a patient-scoped subscriber, on $name', (backend) => {
  const t = useSecureServer(backend, () => keys);
  useDelivery(t);
  const endpoint = useEndpoint();
  let anna = '';
  let bob = '';
  // a patient app's scopes: its patient's Tasks, and its own Subscriptions (those limited to its patient)
  const PATIENT_SCOPE = 'patient/Task.rs patient/Subscription.cruds';
  const bearer = async (scope: string, patient?: string) =>
    `Bearer ${await signToken(keys, { scope, ...(patient ? { patient } : {}) }, { now: t.clock.now() })}`;
  const post = async (auth: string, path: string, body: object) =>
    t.http().post(path).set('Authorization', auth).set('Content-Type', FHIR_JSON).send(body);
  const newTask = async (patient: string) => {
    const res = await post(await bearer('system/*.cruds'), '/fhir/Task', {
      resourceType: 'Task',
      status: 'requested',
      intent: 'order',
      for: { reference: `Patient/${patient}` },
    });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    return res.body as Task;
  };
  const subscribeAs = async (criteria: string, channel: Record<string, unknown> = {}) =>
    post(await bearer(PATIENT_SCOPE, anna), '/fhir/Subscription', restHook(criteria, endpoint().url, channel));

  beforeAll(async () => {
    const admin = await bearer('system/*.cruds');
    const patient = async (family: string) =>
      (await post(admin, '/fhir/Patient', { resourceType: 'Patient', name: [{ family }] })).body.id as string;
    anna = await patient('Anna');
    bob = await patient('Bob');
  });

  it('accepts criteria on its own patient and notifies it, but never of another patient', async () => {
    // with the resource as payload, so what is sent names the Task it is about
    const res = await subscribeAs(`Task?patient=Patient/${anna}`, { payload: 'application/fhir+json' });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    const id = res.body.id as string;
    const admin = await bearer('system/*.cruds');
    const status = async () => (await t.http().get(`/fhir/Subscription/${id}`).set('Authorization', admin)).body;
    await waitFor('active', async () => (await status()).status === 'active');
    const others = await newTask(bob);
    const own = await newTask(anna);
    const [event] = await waitFor('the event', () => endpoint().events(id).length >= 1 && endpoint().events(id));
    expect(event).toMatchObject({ method: 'PUT', path: `/hook/Task/${own.id}`, number: 1 });
    expect((JSON.parse(event.body) as Task).for?.reference).toBe(`Patient/${anna}`);
    // a later write of anna's is event 2: bob's Task, written before anna's, was never an event
    const again = await newTask(anna);
    const events = await waitFor('two events', () => endpoint().events(id).length >= 2 && endpoint().events(id));
    expect(events.map((e) => e.path)).toEqual([`/hook/Task/${own.id}`, `/hook/Task/${again.id}`]);
    expect(events.map((e) => e.number)).toEqual([1, 2]);
    expect(endpoint().received.some((r) => r.path.includes(others.id as string) || r.body.includes(bob))).toBe(false);
  });

  it('refuses (403) criteria on another patient', async () => {
    const res = await subscribeAs(`Task?patient=Patient/${bob}`);
    expect(res.status, JSON.stringify(res.body)).toBe(403);
    expect(res.body.resourceType).toBe('OperationOutcome');
    expect(res.body.issue[0].diagnostics ?? res.body.issue[0].details?.text).toMatch(/own patient/);
  });

  it('refuses (403) criteria that name no patient, or more than its own', async () => {
    for (const criteria of ['Task?status=requested', `Task?patient=Patient/${anna},Patient/${bob}`]) {
      const res = await subscribeAs(criteria);
      expect(res.status, `${criteria}: ${JSON.stringify(res.body)}`).toBe(403);
      expect(res.body.resourceType).toBe('OperationOutcome');
    }
  });
  it('checks a topic filter the same way: its own patient accepted, another or none refused (403)', async () => {
    const topic = (filter?: string) => ({
      resourceType: 'Subscription',
      status: 'requested',
      reason: 'test',
      criteria: 'http://forlop.no/fhir/SubscriptionTopic/milestone-overdue',
      ...(filter ? { _criteria: { extension: [{ url: FILTER, valueString: filter }] } } : {}),
      channel: { type: 'rest-hook', endpoint: endpoint().url, payload: 'application/fhir+json' },
    });
    const as = async (body: object) => post(await bearer(PATIENT_SCOPE, anna), '/fhir/Subscription', body);
    const own = await as(topic(`Task?patient=Patient/${anna}`));
    expect(own.status, JSON.stringify(own.body)).toBe(201);
    for (const body of [topic(`Task?patient=Patient/${bob}`), topic()]) {
      const res = await as(body);
      expect(res.status, JSON.stringify(res.body)).toBe(403);
      expect(res.body.resourceType).toBe('OperationOutcome');
    }
  });
});
