import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/http/app.js';
import { silentLog } from '../../src/http/log.js';
import { openStorage } from '../../src/storage/open.js';
import { startDelivery } from '../../src/subscriptions/worker.js';
import { BACKENDS } from '../support/backends.js';
import { BASE, FHIR_JSON, useServer, type TestServer } from '../support/server.js';
import {
  createOrganization,
  FAST,
  listenWithSockets,
  restHook,
  SocketClient,
  subscribe,
  untilStatus,
  useDelivery,
  waitFor,
  websocketSubscription,
  type Listening,
} from './support.js';

const outbox = async (t: TestServer, id: string) => {
  const row = await t.storage.get<{ n: number | string; d: number | string }>(
    'SELECT events_since_start AS n, delivered AS d FROM subscription_state WHERE id = ?',
    [id],
  );
  return { events: Number(row?.n), delivered: Number(row?.d) };
};

/** A websocket Subscription on Organizations named `name`, made active by the server; its id. */
async function activeSocketSubscription(t: TestServer, name: string): Promise<string> {
  const id = await subscribe(t, websocketSubscription(`Organization?name=${name}`));
  await untilStatus(t, id, 'active');
  return id;
}

/** A client bound to `id`: `bound [id]` received. */
async function bound(url: string, id: string): Promise<SocketClient> {
  const client = await SocketClient.open(url);
  client.send(`bind ${id}`);
  expect(await client.next('bound')).toBe(`bound ${id}`);
  return client;
}

/** R4 §subscription websockets over a real listener and real `ws` clients, on both backends. */
describe.each(BACKENDS)('websocket subscriptions, on $name', (backend) => {
  const t = useServer(backend);
  useDelivery(t);
  let node: Listening;
  beforeAll(async () => {
    node = await listenWithSockets(t.app, t.services);
  });
  afterAll(async () => {
    await node.close();
  });

  it('advertises its socket in the CapabilityStatement (capabilitystatement-websocket)', async () => {
    const cs = (await t.http().get('/fhir/metadata')).body;
    const ext = cs.rest[0].extension.find(
      (e: { url: string }) => e.url === 'http://hl7.org/fhir/StructureDefinition/capabilitystatement-websocket',
    );
    expect(ext.valueUri).toBe('ws://forlop.test/fhir/websocket');
  });

  it('is active once stored, then binds, answers bound and pings on a matching write', async () => {
    const id = await activeSocketSubscription(t, 'WsBind');
    const client = await bound(node.socketUrl, id);
    const ping = client.next('ping');
    await createOrganization(t, 'WsBind');
    expect(await ping).toBe(`ping ${id}`);
    await createOrganization(t, 'Another'); // not a match: no ping
    await waitFor('delivered marked', async () => (await outbox(t, id)).delivered === 1);
    expect(client.messages).toEqual([`bound ${id}`, `ping ${id}`]);
    await client.close();
  });

  it('keeps the events of an unbound subscription and pings them, in order, after a bind', async () => {
    const id = await activeSocketSubscription(t, 'WsLater');
    for (let i = 0; i < 3; i++) await createOrganization(t, 'WsLater');
    await new Promise((r) => setTimeout(r, 300)); // the worker polls meanwhile: nothing to send them to
    expect(await outbox(t, id)).toEqual({ events: 3, delivered: 0 });
    const client = await bound(node.socketUrl, id);
    await waitFor('3 pings', () => client.starting('ping').length >= 3);
    expect(client.messages).toEqual([`bound ${id}`, `ping ${id}`, `ping ${id}`, `ping ${id}`]);
    await waitFor('delivered marked', async () => (await outbox(t, id)).delivered === 3);
    // the socket closes: the next event waits for the next bind, and is pinged then
    await client.close();
    await createOrganization(t, 'WsLater');
    await new Promise((r) => setTimeout(r, 300));
    expect(await outbox(t, id)).toEqual({ events: 4, delivered: 3 });
    const again = await bound(node.socketUrl, id);
    expect(await again.next('ping')).toBe(`ping ${id}`);
    await again.close();
  });

  it('refuses a wrong bind with an error on the socket, which stays open for a right one', async () => {
    const hook = await subscribe(t, restHook('Organization?name=WsHook', 'http://127.0.0.1:9/hook'));
    const id = await activeSocketSubscription(t, 'WsWrong');
    const client = await SocketClient.open(node.socketUrl);
    client.send('bind no-such-subscription');
    expect(await client.next('error')).toBe(
      'error no-such-subscription Subscription/no-such-subscription is not known',
    );
    client.send(`bind ${hook}`);
    expect(await client.next('error')).toMatch(new RegExp(`^error ${hook} .*rest-hook subscription, not websocket`));
    client.send('hello');
    expect(await client.next('error')).toBe(`error expected 'bind [id]'`);
    client.send(`bind ${id}`);
    expect(await client.next('bound')).toBe(`bound ${id}`);
    await client.close();
  });

  it('drops a socket that answers no ping frame; its events wait for the next bind', async () => {
    const quick = await listenWithSockets(t.app, t.services, undefined, 100); // a ping frame every 100 ms
    try {
      const id = await activeSocketSubscription(t, 'WsSilent');
      const silent = await SocketClient.open(quick.socketUrl, {}, false); // its network went away
      const live = await SocketClient.open(quick.socketUrl);
      silent.send(`bind ${id}`);
      live.send(`bind ${id}`);
      expect([await silent.next('bound'), await live.next('bound')]).toEqual([`bound ${id}`, `bound ${id}`]);
      await waitFor('the silent socket dropped', () => silent.ws.readyState === silent.ws.CLOSED, 5_000);
      await new Promise((r) => setTimeout(r, 300)); // three more rounds of ping frames
      expect(live.ws.readyState).toBe(live.ws.OPEN); // one that answers stays
      await live.close();
      await createOrganization(t, 'WsSilent');
      await new Promise((r) => setTimeout(r, 300));
      expect(await outbox(t, id)).toEqual({ events: 1, delivered: 0 }); // no socket left: not pinged into the void
      expect(silent.starting('ping')).toHaveLength(0);
    } finally {
      await quick.close();
    }
  });

  it('refuses a socket on any other path, or on a URL that does not parse, and goes on serving', async () => {
    const other = node.socketUrl.replace('/fhir/websocket', '/fhir/elsewhere');
    await expect(SocketClient.open(other)).rejects.toThrow(/404/);
    const { port } = new URL(node.socketUrl);
    const answer = await new Promise<string>((resolve, reject) => {
      const raw = connect(Number(port), '127.0.0.1', () =>
        raw.write(
          'GET http://[ HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n' +
            'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n',
        ),
      );
      let text = '';
      raw.on('data', (d) => (text += d));
      raw.on('close', () => resolve(text));
      raw.on('error', reject);
    });
    expect(answer).toMatch(/^HTTP\/1\.1 (400|404) /);
    const client = await SocketClient.open(node.socketUrl); // the server is still there
    await client.close();
  });

  it('refuses (422) what a websocket subscription cannot honour: a payload, an endpoint, headers, a topic', async () => {
    const ws = websocketSubscription('Organization?name=Refused');
    const topic = 'http://forlop.no/fhir/SubscriptionTopic/milestone-overdue';
    const cases: [object, string][] = [
      [{ ...ws, channel: { type: 'websocket', payload: 'application/fhir+json' } }, 'Subscription.channel.payload'],
      [{ ...ws, channel: { type: 'websocket', endpoint: 'ws://127.0.0.1:1/x' } }, 'Subscription.channel.endpoint'],
      [{ ...ws, channel: { type: 'websocket', header: ['A: b'] } }, 'Subscription.channel.header'],
      [{ ...ws, criteria: topic }, 'Subscription.channel.type'],
    ];
    for (const [body, expression] of cases) {
      const res = await t.http().post('/fhir/Subscription').set('Content-Type', FHIR_JSON).send(body);
      expect(res.status, JSON.stringify(res.body)).toBe(422);
      expect(res.body.issue[0].expression).toEqual([expression]);
    }
  });

  it('with a socket on another node, that node pings each event once, in order; this node never does', async () => {
    const storage = await openStorage(t.databaseUrl);
    const built = buildApp({ storage, baseUrl: BASE, clock: t.clock, log: silentLog });
    await built.ready;
    const worker = startDelivery(built.services, FAST);
    const other = await listenWithSockets(built.app, built.services);
    try {
      const id = await activeSocketSubscription(t, 'WsNodes');
      // one client on each node, bound to the same subscription: each event is pinged by one of them
      const here = await bound(node.socketUrl, id);
      const there = await bound(other.socketUrl, id);
      await here.close(); // now only the other node has a socket
      for (let i = 0; i < 10; i++) await createOrganization(t, 'WsNodes');
      await waitFor('10 pings there', () => there.starting('ping').length >= 10);
      await waitFor('delivered marked', async () => (await outbox(t, id)).delivered === 10);
      await new Promise((r) => setTimeout(r, 200));
      expect(there.starting('ping')).toHaveLength(10);
      expect(here.starting('ping')).toHaveLength(0);
      await there.close();
    } finally {
      await other.close();
      await worker.stop();
      await storage.close();
    }
  });

  it('with sockets bound on two nodes at once, each event is pinged once in all', async () => {
    const storage = await openStorage(t.databaseUrl);
    const built = buildApp({ storage, baseUrl: BASE, clock: t.clock, log: silentLog });
    await built.ready;
    const worker = startDelivery(built.services, FAST);
    const other = await listenWithSockets(built.app, built.services);
    try {
      const id = await activeSocketSubscription(t, 'WsBoth');
      const here = await bound(node.socketUrl, id);
      const there = await bound(other.socketUrl, id);
      for (let i = 0; i < 10; i++) await createOrganization(t, 'WsBoth');
      const pings = () => here.starting('ping').length + there.starting('ping').length;
      await waitFor('10 pings in all', () => pings() >= 10);
      await waitFor('delivered marked', async () => (await outbox(t, id)).delivered === 10);
      await new Promise((r) => setTimeout(r, 200));
      expect(pings()).toBe(10); // one node at a time delivers it: none twice
      await here.close();
      await there.close();
    } finally {
      await other.close();
      await worker.stop();
      await storage.close();
    }
  });
});
