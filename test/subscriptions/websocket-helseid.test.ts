import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS } from '../support/backends.js';
import { FHIR_JSON } from '../support/server.js';
import { makeKeys, type Keys } from '../security/support.js';
import {
  CLINICIAN,
  makeDpopKey,
  makeProof,
  signHelseIdToken,
  useHelseIdServer,
  type DpopKey,
  type HelseIdTestServer,
} from '../security/helseid-support.js';
import { listenWithSockets, SocketClient, websocketSubscription, type Listening } from './support.js';

let keys: Keys;
let key: DpopKey;
beforeAll(async () => {
  keys = await makeKeys();
  key = await makeDpopKey();
});

/** The socket's URL as the server's configured base names it (the proof's htu), not the loopback one dialled. */
const SOCKET_HTU = 'ws://forlop.test/fhir/websocket';

/** A HelseID clinician's token (read and write), bound to `key` unless `jkt: undefined`. */
const clinicianToken = (t: HelseIdTestServer, o: { jkt?: string } = { jkt: key.jkt }) =>
  signHelseIdToken(keys, CLINICIAN, { now: t.clock.now(), ...o });

/** Creates a websocket Subscription over REST with a DPoP-bound HelseID token and its proof. */
async function subscribe(t: HelseIdTestServer): Promise<string> {
  const at = await clinicianToken(t);
  const res = await t
    .http()
    .post('/fhir/Subscription')
    .set('Authorization', `DPoP ${at}`)
    .set('DPoP', await makeProof(key, { htm: 'POST', htu: '/fhir/Subscription', token: at, now: t.clock.now() }))
    .set('Content-Type', FHIR_JSON)
    .send(websocketSubscription('Organization?name=WsHelseId'));
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body.id as string;
}

/** The upgrade request's answer when it is refused: its status and headers (ws hides them). */
function refusedUpgrade(url: string, headers: Record<string, string>) {
  return new Promise<{ status: number; headers: Record<string, unknown>; body: string }>((resolve, reject) => {
    const req = httpRequest(url.replace(/^ws/, 'http'), {
      headers: { Connection: 'Upgrade', Upgrade: 'websocket', 'Sec-WebSocket-Version': '13', ...headers },
    });
    req.setHeader('Sec-WebSocket-Key', 'dGhlIHNhbXBsZSBub25jZQ==');
    req.on('response', (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('upgrade', () => reject(new Error('the upgrade was accepted')));
    req.on('error', reject);
    req.end();
  });
}

/**
 * HelseID tokens on the websocket bind, checked as on REST; with DPoP required, the token and a proof
 * of the upgrade request (htm GET, htu the socket's URL) go in the upgrade, and a bind's token is refused.
 */
describe.each(BACKENDS)('websocket with HelseID and DPoP required, on $name', (backend) => {
  const t = useHelseIdServer(backend, () => keys, { dpop: 'required' });
  let node: Listening;
  let id = '';
  beforeAll(async () => {
    node = await listenWithSockets(t.app, t.services, t.tokens, undefined, t.dpop);
    id = await subscribe(t);
  });
  afterAll(async () => {
    await node.close();
  });
  const upgradeHeaders = async (htu = SOCKET_HTU, o: { jti?: string } = {}) => {
    const at = await clinicianToken(t);
    return { Authorization: `DPoP ${at}`, DPoP: await makeProof(key, { htu, token: at, now: t.clock.now(), ...o }) };
  };

  it('binds with a DPoP-bound token and a proof of the upgrade (htu ws:// or http://)', async () => {
    for (const htu of [SOCKET_HTU, 'http://forlop.test/fhir/websocket']) {
      const client = await SocketClient.open(node.socketUrl, await upgradeHeaders(htu));
      client.send(`bind ${id}`);
      expect(await client.next('bound')).toBe(`bound ${id}`);
      await client.close();
    }
  });

  it('refuses an upgrade with a bearer token: 401 with the DPoP challenge', async () => {
    const at = await clinicianToken(t, { jkt: undefined });
    const res = await refusedUpgrade(node.socketUrl, { Authorization: `Bearer ${at}` });
    expect(res.status).toBe(401);
    expect(res.headers['www-authenticate']).toMatch(/^DPoP algs="[^"]*ES256.*error="invalid_token"/);
    expect(JSON.parse(res.body).issue[0].diagnostics).toContain('accepts only DPoP-bound access tokens');
  });

  it('the CapabilityStatement says so', async () => {
    const metadata = await t.http().get('/fhir/metadata');
    expect(metadata.body.rest[0].security.description).toContain(
      'The websocket takes them on its upgrade request, with a DPoP proof of it (htm GET, htu the socket URL)',
    );
  });

  it('refuses an upgrade without a token: a bind could carry no proof', async () => {
    const res = await refusedUpgrade(node.socketUrl, {});
    expect(res.status).toBe(401);
    expect(res.headers['www-authenticate']).toMatch(/^DPoP algs="/);
    expect(JSON.parse(res.body).issue[0].diagnostics).toContain('Authorization: DPoP');
  });

  it('refuses a proof made for another URL, and a replayed upgrade proof', async () => {
    const rest = await refusedUpgrade(node.socketUrl, await upgradeHeaders('http://forlop.test/fhir/Subscription'));
    expect(rest.status).toBe(401);
    expect(rest.headers['www-authenticate']).toContain('error="invalid_dpop_proof"');
    expect(JSON.parse(rest.body).issue[0].diagnostics).toContain("is not this request's URL");
    const once = await upgradeHeaders(SOCKET_HTU, { jti: `ws-once-${backend.name}` });
    await (await SocketClient.open(node.socketUrl, once)).close();
    const replay = await refusedUpgrade(node.socketUrl, once);
    expect(replay.status).toBe(401);
    expect(JSON.parse(replay.body).issue[0].diagnostics).toContain('jti has been used before');
  });
});

describe.each(BACKENDS)('websocket with HelseID, DPoP allowed, on $name', (backend) => {
  const t = useHelseIdServer(backend, () => keys, { dpop: 'allowed' });
  let node: Listening;
  let id = '';
  beforeAll(async () => {
    node = await listenWithSockets(t.app, t.services, t.tokens, undefined, t.dpop);
    id = await subscribe(t);
  });
  afterAll(async () => {
    await node.close();
  });

  it('binds with a HelseID bearer token in bind [id] [token], its scopes mapped as on REST', async () => {
    const client = await SocketClient.open(node.socketUrl);
    client.send(`bind ${id} ${await clinicianToken(t, {})}`);
    expect(await client.next('bound')).toBe(`bound ${id}`);
    await client.close();
  });

  it('binds with a HelseID bearer token in the upgrade', async () => {
    const client = await SocketClient.open(node.socketUrl, { Authorization: `Bearer ${await clinicianToken(t, {})}` });
    client.send(`bind ${id}`);
    expect(await client.next('bound')).toBe(`bound ${id}`);
    await client.close();
  });

  it('refuses a DPoP-bound token in bind, as a bearer token on REST (RFC 9449 §7.1)', async () => {
    const client = await SocketClient.open(node.socketUrl);
    client.send(`bind ${id} ${await clinicianToken(t)}`);
    expect(await client.next('error')).toMatch(
      new RegExp(`^error ${id} This access token is DPoP-bound \\(cnf.jkt\\)`),
    );
    expect(client.starting('bound')).toHaveLength(0);
    await client.close();
  });

  it('refuses a HelseID token without this API scope in bind (mapped to no SMART scope)', async () => {
    const token = await signHelseIdToken(
      keys,
      { ...CLINICIAN, scope: ['openid', 'helseid://scopes/identity/pid'] },
      { now: t.clock.now() },
    );
    const client = await SocketClient.open(node.socketUrl);
    client.send(`bind ${id} ${token}`);
    expect(await client.next('error')).toMatch(new RegExp(`^error ${id} .*do not allow read on Subscription`));
    await client.close();
  });
});
