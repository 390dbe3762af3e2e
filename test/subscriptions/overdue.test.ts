import { describe, expect, it } from 'vitest';
import type { AuditEvent, CarePlan, Task } from '@medplum/fhirtypes';
import { evaluateAll } from '../../src/pathways/evaluate.js';
import { BACKENDS } from '../support/backends.js';
import { useServer } from '../support/server.js';
import { applyPathway, milestone, newPatient, usePathways } from '../pathways/support.js';
import { otherNode, restHook, subscribe, untilStatus, useDelivery, useEndpoint, waitFor } from './support.js';

/**
 * Time becomes an event: the scheduled deadline evaluation writes a milestone's new standing, and that
 * write is what a `Task?business-status=overdue` subscription is told of — once, when the clock passes
 * the due date, not again on the next evaluation.
 */
describe.each(BACKENDS)('an overdue milestone notified, on $name', (backend) => {
  const t = useServer(backend);
  usePathways(t);
  useDelivery(t);
  const endpoint = useEndpoint();

  it('is sent when the injected clock passes the due date and the evaluation runs, once', async () => {
    t.clock.set(new Date('2026-03-03T09:00:00Z'));
    const patient = await newPatient(t);
    const other = await newPatient(t);
    const criteria = `Task?business-status=overdue&patient=${patient}`;
    const id = await subscribe(t, restHook(criteria, endpoint().url, { payload: 'application/fhir+json' }));
    await untilStatus(t, id, 'active');
    const carePlan = (await applyPathway(t, 'D06', { subject: patient, start: '2026-03-02' })).body as CarePlan;
    await applyPathway(t, 'D06', { subject: other, start: '2026-03-02' }); // another patient's: not notified
    const task = await milestone(t, carePlan, 'first-attendance'); // due 9 March: due-soon now
    expect(task.businessStatus?.coding?.[0]?.code).toBe('due-soon');

    t.clock.set(new Date('2026-03-10T09:00:00Z'));
    expect((await evaluateAll(t.services)).updated).toBeGreaterThanOrEqual(2);
    const [event] = await waitFor(
      'the overdue event',
      () => endpoint().events(id).length >= 1 && endpoint().events(id),
    );
    expect(event).toMatchObject({ method: 'PUT', path: `/hook/Task/${task.id}`, number: 1 });
    const sent = JSON.parse(event.body) as Task;
    expect(sent.businessStatus?.coding?.[0]?.code).toBe('overdue');
    expect(sent.for?.reference).toBe(patient);
    // the delivery carried patient data out: audited (DICOM Export), naming the patient and the version sent
    const exports = await waitFor('the delivery audited', async () => {
      const res = await t
        .http()
        .get('/fhir/AuditEvent')
        .query({ entity: `Subscription/${id}` });
      const found = (res.body.entry ?? []).map((e: { resource: AuditEvent }) => e.resource);
      return found.length > 0 && (found as AuditEvent[]);
    });
    expect(exports.map((a) => a.type.code)).toEqual(['110106']);
    expect(exports[0].entity?.map((e) => e.what?.reference)).toEqual(
      expect.arrayContaining([patient, `Task/${task.id}/_history/${sent.meta?.versionId}`]),
    );

    // the next evaluation changes nothing: no second event (the transition is written once)
    await evaluateAll(t.services);
    const outbox = await t.storage.get<{ n: number | string }>(
      'SELECT events_since_start AS n FROM subscription_state WHERE id = ?',
      [id],
    );
    expect(Number(outbox?.n)).toBe(1);
    expect(
      endpoint()
        .events(id)
        .map((e) => e.number),
    ).toEqual([1]);
  });

  it('two nodes evaluating at the same moment record the transition once', async () => {
    t.clock.set(new Date('2026-05-04T09:00:00Z'));
    const patient = await newPatient(t);
    const id = await subscribe(t, restHook(`Task?business-status=overdue&patient=${patient}`, endpoint().url));
    await untilStatus(t, id, 'active');
    await applyPathway(t, 'D06', { subject: patient, start: '2026-05-04' });
    const second = await otherNode(t);
    try {
      t.clock.set(new Date('2026-05-20T09:00:00Z'));
      await Promise.all([evaluateAll(t.services), evaluateAll(second.services)]);
      const [event] = await waitFor('the event', () => endpoint().events(id).length >= 1 && endpoint().events(id));
      expect(event.number).toBe(1);
      const outbox = await t.storage.get<{ n: number | string }>(
        'SELECT events_since_start AS n FROM subscription_state WHERE id = ?',
        [id],
      );
      expect(Number(outbox?.n)).toBe(1); // one milestone fell overdue: one event, not one per node
    } finally {
      await second.close();
    }
  });
});
