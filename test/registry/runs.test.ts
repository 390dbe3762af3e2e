import { beforeAll, describe, expect, it } from 'vitest';
import type { Bundle, CarePlan, Procedure } from '@medplum/fhirtypes';
import { parsePeriod } from '../../src/registry/period.js';
import { runRegistryReport } from '../../src/registry/run.js';
import { Lease } from '../../src/storage/lease.js';
import type { ResourceValidator } from '../../src/validation/types.js';
import { BACKENDS } from '../support/backends.js';
import { organisationNumber } from '../support/norwegian-ids.js';
import { FHIR_JSON, useServer } from '../support/server.js';
import { completeMilestone, usePathways } from '../pathways/support.js';
import { applyByPost, reportPatient } from './support.js';

/**
 * A run beside the server's other work: built over a snapshot (writers are not kept waiting while it
 * builds), kept from overlapping itself by a lease in the database (not a flag in one process).
 */
describe.each(BACKENDS)('registry report runs beside the server, on $name', (backend) => {
  const t = useServer(backend);
  usePathways(t);
  const plans: CarePlan[] = [];
  const codes = (b: Bundle) =>
    (b.entry ?? [])
      .filter((e) => e.resource?.resourceType === 'Procedure')
      .map((e) => (e.resource as Procedure).code?.coding?.[0].code)
      .sort();

  beforeAll(async () => {
    const org = {
      resourceType: 'Organization',
      id: 'lopende-hf',
      name: 'Løpende HF',
      identifier: [{ system: 'urn:oid:2.16.578.1.12.4.1.4.101', value: organisationNumber('93456781') }],
    };
    expect((await t.http().put(`/fhir/Organization/${org.id}`).set('Content-Type', FHIR_JSON).send(org)).status).toBe(
      201,
    );
    // after the last date recorded here (milestones are recorded once they have happened)
    t.clock.set(new Date('2026-10-21T09:00:00Z'));
    for (const start of ['2026-10-02', '2026-10-05']) {
      const plan = await applyByPost(t, 'D11', {
        subject: await reportPatient(t),
        start,
        organization: 'Organization/lopende-hf',
      });
      plans.push(plan);
      expect((await completeMilestone(t, plan, 'first-attendance', '2026-10-12')).status).toBe(200);
    }
  });

  it('a run is built over a snapshot: a write while it builds goes through at once, and is in the next run', async () => {
    // the run is held just before its page is validated: built, not yet stored
    let reached!: () => void;
    let release!: () => void;
    const paused = new Promise<void>((r) => (reached = r));
    const gate = new Promise<void>((r) => (release = r));
    const inThread = t.services.validator;
    const validator: ResourceValidator = {
      validate: async (resource, options) => {
        if (resource.resourceType === 'Bundle') {
          reached();
          await gate;
        }
        return inThread.validate(resource, options);
      },
      supportedProfiles: (type) => inThread.supportedProfiles(type),
    };
    const running = runRegistryReport(
      { ...t.services, validator },
      { period: parsePeriod('2026-10'), unit: 'lopende-hf' },
    );
    await paused;
    // a clinician records a decision meanwhile: answered while the run is still open
    const decision = await completeMilestone(t, plans[0], 'clinical-decision', '2026-10-20', {
      output: [
        {
          type: { text: 'Utfall' },
          valueCodeableConcept: { coding: [{ system: 'urn:oid:2.16.578.1.12.4.1.1.9323', code: 'P' }] },
        },
      ],
    });
    expect(decision.status, JSON.stringify(decision.body)).toBe(200);
    release();
    const first = await running;
    expect(codes(first.firstPage)).toEqual(['D11A', 'D11A', 'D11M', 'D11M']);
    const next = await runRegistryReport(t.services, { period: parsePeriod('2026-10'), unit: 'lopende-hf' });
    expect(next.changed).toBe(true);
    expect(codes(next.firstPage)).toEqual(['D11A', 'D11A', 'D11CP', 'D11M', 'D11M']);
  });

  it('the lease: one holder at a time across processes; a dead holder’s expires; a lost lease fails the write', async () => {
    const held = await Lease.acquire(t.storage, 'test:lease', { ttlMs: 60_000 });
    await expect(Lease.acquire(t.storage, 'test:lease', { waitMs: 0 })).rejects.toThrow(/held by another run/);
    await held.release();
    const again = await Lease.acquire(t.storage, 'test:lease', { waitMs: 0 });
    await again.release();
    // a run that died an hour ago holds nothing: its lease has expired
    await t.storage.transaction((tx) =>
      tx.run(`INSERT INTO leases (name, holder, expires) VALUES (?, ?, ?)`, [
        'registry:lopende-hf:2026-T3',
        'a-dead-process',
        Date.now() - 3_600_000,
      ]),
    );
    const run = await t
      .http()
      .post('/fhir/$registry-report')
      .set('Content-Type', FHIR_JSON)
      .send({
        resourceType: 'Parameters',
        parameter: [
          { name: 'period', valueString: '2026-T3' },
          { name: 'unit', valueString: 'Organization/lopende-hf' },
        ],
      });
    expect(run.status).toBe(200);
    expect(await t.storage.all(`SELECT holder FROM leases WHERE name = ?`, ['registry:lopende-hf:2026-T3'])).toEqual(
      [],
    );
    // a holder whose lease was taken over after it expired can no longer write under it
    const slow = await Lease.acquire(t.storage, 'test:lost', { ttlMs: 60_000 });
    await t.storage.transaction((tx) =>
      tx.run(`UPDATE leases SET holder = 'someone-else' WHERE name = ?`, ['test:lost']),
    );
    await expect(t.storage.transaction((tx) => slow.hold(tx))).rejects.toThrow(/lease was lost/);
    await slow.release();
    await t.storage.transaction((tx) => tx.run(`DELETE FROM leases WHERE name = ?`, ['test:lost']));
  });
});
