import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TokenVerifier } from '../../src/security/tokens.js';
import { BACKENDS } from '../support/backends.js';
import { BASE, FHIR_JSON } from '../support/server.js';
import { ISSUER, makeKeys, signToken, useSecureServer, type Keys } from '../security/support.js';
import {
  createOrganization,
  listenWithSockets,
  SocketClient,
  untilStatus,
  useDelivery,
  websocketSubscription,
  type Listening,
} from './support.js';

let keys: Keys;
beforeAll(async () => {
  keys = await makeKeys();
});

/**
 * With SMART authentication on, a bind needs a token that may read the Subscription: in the upgrade's
 * Authorization header, or as the bind's second word (what a browser's WebSocket can send).
 */
describe.each(BACKENDS)('binding a websocket with a token, on $name', (backend) => {
  const t = useSecureServer(backend, () => keys);
  useDelivery(t);
  let node: Listening;
  let general = '';
  let annas = '';
  const bearer = async (scope: string, patient?: string) =>
    `Bearer ${await signToken(keys, { scope, ...(patient ? { patient } : {}) }, { now: t.clock.now() })}`;
  const subscribeAs = async (auth: string, criteria: string) => {
    const res = await t
      .http()
      .post('/fhir/Subscription')
      .set('Authorization', auth)
      .set('Content-Type', FHIR_JSON)
      .send(websocketSubscription(criteria));
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    return res.body.id as string;
  };

  beforeAll(async () => {
    const verifier = new TokenVerifier(
      { issuer: ISSUER, audience: BASE, jwks: keys.jwksFile },
      { now: () => t.clock.now() },
    );
    node = await listenWithSockets(t.app, t.services, verifier);
    const admin = await bearer('user/Subscription.cruds user/Organization.cruds user/Task.rs');
    general = await subscribeAs(admin, 'Organization?name=WsAuth');
    // a patient's own: a patient/ scope may write and bind to it
    annas = await subscribeAs(await bearer('patient/Subscription.cruds patient/Task.rs', 'anna'), 'Task?patient=anna');
    // the shared helpers (untilStatus, createOrganization) ask as this administrator from now on
    t.http = (
      (agent) => () =>
        agent().set('Authorization', admin)
    )(t.http);
    await untilStatus(t, general, 'active');
  });
  afterAll(async () => {
    await node.close();
  });

  it('binds with the token in the upgrade request, and pings', async () => {
    const auth = await bearer('user/Subscription.r');
    const client = await SocketClient.open(node.socketUrl, { Authorization: auth });
    client.send(`bind ${general}`);
    expect(await client.next('bound')).toBe(`bound ${general}`);
    const ping = client.next('ping');
    await createOrganization(t, 'WsAuth');
    expect(await ping).toBe(`ping ${general}`);
    await client.close();
  });

  it('binds with the token in the bind message (a browser cannot set headers)', async () => {
    const token = (await bearer('user/Subscription.r')).slice('Bearer '.length);
    const client = await SocketClient.open(node.socketUrl);
    client.send(`bind ${general} ${token}`);
    expect(await client.next('bound')).toBe(`bound ${general}`);
    await client.close();
  });

  it('refuses a bind without a token, or with one that may not read Subscriptions', async () => {
    const client = await SocketClient.open(node.socketUrl);
    client.send(`bind ${general}`);
    expect(await client.next('error')).toMatch(new RegExp(`^error ${general} An access token is needed`));
    const token = (await bearer('user/Organization.rs')).slice('Bearer '.length);
    client.send(`bind ${general} ${token}`);
    expect(await client.next('error')).toMatch(new RegExp(`^error ${general} .*do not allow read on Subscription`));
    client.send(`bind ${general} not-a-token`);
    // the REST path's own words for it (auth.ts): the socket checks tokens exactly as REST does
    expect(await client.next('error')).toBe(`error ${general} The access token is not a valid JWT`);
    expect(client.starting('bound')).toHaveLength(0);
    await client.close();
  });

  it('closes a bound socket (1008) when its token expires, by the server clock', async () => {
    const token = await signToken(keys, { scope: 'user/Subscription.r' }, { now: t.clock.now(), expiresIn: 1 });
    const client = await SocketClient.open(node.socketUrl);
    const closed = new Promise<number>((resolve) => client.ws.once('close', (code) => resolve(code)));
    client.send(`bind ${general} ${token}`);
    expect(await client.next('bound')).toBe(`bound ${general}`);
    expect(await closed).toBe(1008);
  });

  it('refuses the upgrade (401) with an invalid token in the header', async () => {
    await expect(SocketClient.open(node.socketUrl, { Authorization: 'Bearer nonsense' })).rejects.toThrow(/401/);
  });

  it("lets a patient/ token bind to its own patient's Subscription, not to another", async () => {
    const auth = await bearer('patient/Subscription.r', 'anna');
    const client = await SocketClient.open(node.socketUrl, { Authorization: auth });
    client.send(`bind ${general}`);
    // not limited to anna: answered as unknown, as a read of it would be
    expect(await client.next('error')).toBe(`error ${general} Subscription/${general} is not known`);
    client.send(`bind ${annas}`);
    expect(await client.next('bound')).toBe(`bound ${annas}`);
    await client.close();
  });
});
