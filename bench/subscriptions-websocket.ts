import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WebSocket } from 'ws';
import { ManualClock } from '../src/fhir/clock.js';
import { buildApp } from '../src/http/app.js';
import { createHttpServer, DEFAULT_HTTP_TIMEOUTS } from '../src/http/listener.js';
import { silentLog } from '../src/http/log.js';
import { subscriptionSockets } from '../src/http/websocket.js';
import { SqliteStorage } from '../src/storage/sqlite.js';
import { startDelivery } from '../src/subscriptions/worker.js';
import { createResource, percentile, table } from './harness.js';

const WRITES = 200;

/** Resolves with the arrival time of the next message on the socket that starts with `prefix`. */
function nextMessage(ws: WebSocket, prefix: string): Promise<number> {
  return new Promise((resolve) => {
    const on = (data: Buffer) => {
      if (!data.toString().startsWith(prefix)) return;
      ws.off('message', on);
      resolve(performance.now());
    };
    ws.on('message', on);
  });
}

/**
 * Event → websocket ping (R4 websocket channel): one websocket Subscription bound by a `ws` client on the
 * server's own listener (embedded SQLite, in this process, the worker with its default options, the
 * upgrade on the listener as src/server.ts has it); `WRITES` matching writes one at a time, each timed
 * from the write's response to the ping arriving.
 */
export async function websocketPingBench(): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'forlop-bench-ws-'));
  const storage = new SqliteStorage(join(dir, 'forlop.db'));
  const clock = new ManualClock(new Date('2026-06-01T08:00:00Z'));
  const { app, services, ready } = buildApp({ storage, baseUrl: 'http://127.0.0.1/fhir', clock, log: silentLog });
  await ready;
  const worker = startDelivery(services);
  const server = createHttpServer(app, DEFAULT_HTTP_TIMEOUTS, silentLog);
  const sockets = subscriptionSockets(services, '/fhir');
  server.on('upgrade', sockets.upgrade);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const base = `http://127.0.0.1:${(server.address() as { port: number }).port}/fhir`;
  const running = { url: base };
  try {
    const criteria = 'Organization?name=bench-ws';
    const channel = { type: 'websocket' };
    const id = await createResource(`${running.url}/Subscription`, {
      resourceType: 'Subscription',
      status: 'requested',
      reason: 'bench',
      criteria,
      channel,
    });
    const ws = new WebSocket(`${base.replace('http', 'ws')}/websocket`);
    await new Promise((r) => ws.once('open', r));
    const bound = nextMessage(ws, 'bound');
    ws.send(`bind ${id}`);
    await bound;
    const ms: number[] = [];
    for (let i = 0; i < WRITES; i++) {
      const ping = nextMessage(ws, 'ping');
      await createResource(`${running.url}/Organization`, { resourceType: 'Organization', name: 'bench-ws' });
      const committed = performance.now();
      ms.push((await ping) - committed);
    }
    ws.close();
    ms.sort((a, b) => a - b);
    return [
      '### Subscriptions: event → websocket ping (embedded SQLite, in one process)',
      '',
      `One websocket Subscription bound by a \`ws\` client; ${WRITES} matching writes one at a time, each timed from`,
      "the write's response (its commit) to the ping arriving. A ping that arrives before the response counts 0.",
      '',
      table(
        ['writes', 'p50 ms', 'p95 ms'],
        [[WRITES, Math.max(0, percentile(ms, 0.5)), Math.max(0, percentile(ms, 0.95))]],
      ),
    ].join('\n');
  } finally {
    sockets.close();
    await worker.stop();
    // the storage first, while the listener still keeps the process alive: SQLite's checkpoint thread is
    // unref'd, and waiting for it to end with nothing else open would let the process exit unfinished
    await storage.close();
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
    rmSync(dir, { recursive: true, force: true });
  }
}
