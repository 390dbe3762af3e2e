import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startChildServer, type ChildServer } from '../support/child-server.js';
import { BACKENDS } from '../support/backends.js';
import { BASE, useServer } from '../support/server.js';
import { createOrganization, SocketClient, subscribe, untilStatus, waitFor, websocketSubscription } from './support.js';

/**
 * `forlop serve` as it runs in production: its listener takes the websocket upgrade (src/server.ts), its
 * worker pings, and at SIGTERM it closes the bound sockets (1001 going away) and exits, instead of waiting
 * for the clients to hang up.
 */
describe.each(BACKENDS)('websocket subscriptions on a server process, on $name', (backend) => {
  const t = useServer(backend);
  let child: ChildServer | undefined;
  beforeAll(async () => {
    const off = { DEADLINE_CRON: '', REGISTRY_CRON: '', MEASURE_CRON: '', REGISTRY_OUTBOX: '' };
    child = await startChildServer(t.databaseUrl, { BASE_URL: BASE, ...off });
  }, 180_000);
  afterAll(async () => {
    await child?.kill();
  });

  it('binds, pings a write committed by another node, and closes the socket when it stops', async () => {
    const id = await subscribe(t, websocketSubscription('Organization?name=Process'));
    await untilStatus(t, id, 'active'); // made active by the process's worker
    const client = await SocketClient.open(`${child!.baseUrl.replace('http', 'ws')}/fhir/websocket`);
    client.send(`bind ${id}`);
    expect(await client.next('bound')).toBe(`bound ${id}`);
    const ping = client.next('ping');
    await createOrganization(t, 'Process'); // written here, pinged by the process (it polls the outbox)
    expect(await ping).toBe(`ping ${id}`);
    const closed = new Promise<number>((resolve) => client.ws.once('close', (code) => resolve(code)));
    const exit = await child!.stop();
    child = undefined;
    expect(await closed).toBe(1001);
    expect(exit).toBe(0);
    await waitFor('the socket closed', () => client.ws.readyState === client.ws.CLOSED);
  });
});
