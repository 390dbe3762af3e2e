import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import request from 'supertest';
import { startChildServer, type ChildServer } from '../support/child-server.js';
import { BACKENDS } from '../support/backends.js';
import { BASE, useServer } from '../support/server.js';
import { makeKeys, type Keys } from './support.js';
import {
  CLINICIAN,
  HELSEID_AUDIENCE,
  HELSEID_ISSUER,
  makeDpopKey,
  makeProof,
  signHelseIdToken,
  type DpopKey,
} from './helseid-support.js';

/**
 * RFC 9449 §11.1 across API nodes: two `forlop serve` processes on one database (the same public
 * BASE_URL, as behind a load balancer), DPoP required. A proof used at one node is refused at the
 * other, because the jti is kept in the database, not in a process; and when one proof is sent to both
 * at once, exactly one of them accepts it.
 */
describe.each(BACKENDS)('a DPoP proof replayed to another node, on $name', (backend) => {
  const t = useServer(backend);
  let keys: Keys;
  let key: DpopKey;
  const nodes: ChildServer[] = [];
  beforeAll(async () => {
    keys = await makeKeys();
    key = await makeDpopKey();
    const env = {
      BASE_URL: BASE,
      AUTH_ISSUER: HELSEID_ISSUER,
      AUTH_AUDIENCE: HELSEID_AUDIENCE,
      AUTH_JWKS: keys.jwksFile,
      AUTH_PROFILE: 'helseid',
      DPOP: 'required',
      LOAD_EXAMPLES: 'false',
      DEADLINE_CRON: '',
      REGISTRY_CRON: '',
      MEASURE_CRON: '',
      REGISTRY_OUTBOX: '',
    };
    // one after the other: both create the schema if it is missing
    nodes.push(await startChildServer(t.databaseUrl, env));
    nodes.push(await startChildServer(t.databaseUrl, env));
  }, 240_000);
  afterAll(async () => {
    for (const node of nodes) await node.stop();
  });

  const signed = async () => {
    const token = await signHelseIdToken(
      keys,
      { ...CLINICIAN, scope: 'nhn:forlop/read' },
      { now: new Date(), jkt: key.jkt },
    );
    const proof = await makeProof(key, { htu: '/fhir/Patient', now: new Date(), token });
    return { authorization: `DPoP ${token}`, proof };
  };
  const get = (node: ChildServer, s: { authorization: string; proof: string }) =>
    request(node.baseUrl).get('/fhir/Patient').set('Authorization', s.authorization).set('DPoP', s.proof);

  it('a proof accepted by one node is refused by the other as a replay', async () => {
    const s = await signed();
    expect((await get(nodes[0], s)).status).toBe(200);
    const replay = await get(nodes[1], s);
    expect(replay.status).toBe(401);
    expect(replay.headers['www-authenticate']).toContain('error="invalid_dpop_proof"');
    expect(replay.body.issue[0].diagnostics).toContain('jti has been used before');
    // and a fresh proof is accepted by the second node: it is the jti that was refused, not the client
    expect((await get(nodes[1], await signed())).status).toBe(200);
  });

  it('one proof sent to both nodes at once: exactly one accepts it', async () => {
    for (let round = 0; round < 5; round++) {
      const s = await signed();
      const statuses = (await Promise.all(nodes.map((n) => get(n, s)))).map((r) => r.status).sort();
      expect(statuses).toEqual([200, 401]);
    }
  });

  it('the jtis are in the database, each until its proof would be too old anyway', async () => {
    const rows = await t.storage.all<{ jkt: string; expires: number | string }>('SELECT jkt, expires FROM dpop_jti');
    expect(rows.length).toBe(7);
    expect(new Set(rows.map((r) => r.jkt))).toEqual(new Set([key.jkt]));
    const now = Date.now() / 1000;
    for (const r of rows) expect(Number(r.expires)).toBeGreaterThan(now);
    for (const r of rows) expect(Number(r.expires)).toBeLessThan(now + 70);
  });
});
