import type { Bundle, CarePlan } from '@medplum/fhirtypes';
import { beforeAll, describe, expect, it } from 'vitest';
import { hprNumberOf } from '../../src/webapp/client/auth.js';
import { HPR_SYSTEM, myPlansQuery } from '../../src/webapp/client/worklist-data.js';
import { BACKENDS } from '../support/backends.js';
import { FHIR_JSON } from '../support/server.js';
import { makeKeys, type Keys } from '../security/support.js';
import { CLAIM, CLINICIAN, signHelseIdToken, useHelseIdServer } from '../security/helseid-support.js';

let keys: Keys;
beforeAll(async () => {
  keys = await makeKeys();
});

/** The clinician's HPR number (CLINICIAN's `hpr_number` claim) and a colleague's. */
const MINE = CLINICIAN[CLAIM.hpr] as string;
const COLLEAGUE = '9144889';

/**
 * "My patients" in the worklist: the active CarePlans whose CareTeam has a participant Practitioner
 * with the signed-in person's HPR number — the web app's own query (worklist-data.ts), over HTTP with a
 * HelseID token carrying `hpr_number`, on both backends.
 */
describe.each(BACKENDS)('the worklist\'s "mine" by HPR number, on $name', (backend) => {
  const t = useHelseIdServer(backend, () => keys, { dpop: 'allowed' });
  const token = () => signHelseIdToken(keys, CLINICIAN, { now: t.clock.now() });
  const put = async (resource: { resourceType: string; id: string }) => {
    const res = await t
      .http()
      .put(`/fhir/${resource.resourceType}/${resource.id}`)
      .set('Authorization', `Bearer ${await token()}`)
      .set('Content-Type', FHIR_JSON)
      .send(resource);
    expect([200, 201], JSON.stringify(res.body)).toContain(res.status);
  };
  /** A patient's active CarePlan whose care team is the given practitioners (by id). */
  const pathway = async (n: number, members: string[], status = 'active') => {
    await put({ resourceType: 'Patient', id: `hpr-p${n}`, name: [{ family: `Pasient${n}` }] } as never);
    const participant = members.map((m) => ({ member: { reference: `Practitioner/${m}` } }));
    await put({ resourceType: 'CareTeam', id: `hpr-team${n}`, status: 'active', participant } as never);
    await put({
      resourceType: 'CarePlan',
      id: `hpr-plan${n}`,
      status,
      intent: 'plan',
      subject: { reference: `Patient/hpr-p${n}` },
      careTeam: [{ reference: `CareTeam/hpr-team${n}` }],
    } as never);
  };

  beforeAll(async () => {
    for (const [id, hpr] of [
      ['hpr-me', MINE],
      ['hpr-colleague', COLLEAGUE],
    ])
      await put({
        resourceType: 'Practitioner',
        id,
        identifier: [{ system: HPR_SYSTEM, value: hpr }],
        name: [{ family: id }],
      } as never);
    await pathway(1, ['hpr-me']);
    await pathway(2, ['hpr-colleague', 'hpr-me']);
    await pathway(3, ['hpr-colleague']);
    await pathway(4, ['hpr-me'], 'completed');
  });

  it('finds the active pathways whose care team has the HPR number, and no other', async () => {
    const at = await token();
    expect(hprNumberOf(at)).toBe(MINE);
    const res = await t
      .http()
      .get(`/fhir/${myPlansQuery(MINE)}`)
      .set('Authorization', `Bearer ${at}`);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const ids = ((res.body as Bundle<CarePlan>).entry ?? []).map((e) => e.resource?.id).sort();
    expect(ids).toEqual(['hpr-plan1', 'hpr-plan2']);
  });

  it("a colleague's number finds theirs; an unknown number none", async () => {
    const at = await token();
    const of = async (hpr: string) => {
      const res = await t
        .http()
        .get(`/fhir/${myPlansQuery(hpr)}`)
        .set('Authorization', `Bearer ${at}`);
      expect(res.status).toBe(200);
      return ((res.body as Bundle<CarePlan>).entry ?? []).map((e) => e.resource?.id).sort();
    };
    expect(await of(COLLEAGUE)).toEqual(['hpr-plan2', 'hpr-plan3']);
    expect(await of('1234567')).toEqual([]);
  });

  it('reads no HPR number from a token without one, or from what is not a JWT', async () => {
    const { [CLAIM.hpr]: _gone, ...rest } = CLINICIAN;
    expect(hprNumberOf(await signHelseIdToken(keys, rest, { now: t.clock.now() }))).toBeUndefined();
    expect(hprNumberOf('not-a-token')).toBeUndefined();
  });
});
