import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startDelivery } from '../src/subscriptions/worker.js';
import { startInProcess } from '../test/support/in-process.js';
import { createResource, percentile, table } from './harness.js';
import { websocketPingBench } from './subscriptions-websocket.js';

/**
 * Issue 19's figures, on the embedded backend, in one process: N active rest-hook subscriptions, one per
 * patient (`Task?patient=Patient/[p]`, a ping), delivered by the production worker (default options) to a
 * local node:http receiver. Timed:
 *
 * - event → POST latency: one write at a time (a Task of one subscribed patient), from the write's response
 *   (its commit) to the ping arriving at the receiver;
 * - a burst: one Task per subscribed patient, 8 writes in flight; events/s delivered from the first write
 *   to the last ping, and the latency of each;
 * - the references in the same run: the same burst of writes on a server with no subscriptions (bare write
 *   rate), and a plain node:http POST round trip to the receiver.
 */
const SEQUENTIAL = 200;
const IN_FLIGHT = 8;
const TODAY = '2026-06-01';

const stats = (ms: number[]) => {
  const s = [...ms].sort((a, b) => a - b);
  return { p50: percentile(s, 0.5), p95: percentile(s, 0.95) };
};

/** The receiver: when each (subscription, event number) arrived, and when the handshakes did. */
class Receiver {
  readonly arrived = new Map<string, number>();
  handshakes = 0;
  waiters: (() => void)[] = [];
  constructor(
    readonly server: Server,
    readonly url: string,
  ) {}

  static async start(): Promise<Receiver> {
    const self: { r?: Receiver } = {};
    const server = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        const at = performance.now();
        const kind = req.headers['forlop-notification'];
        if (kind === 'handshake') self.r!.handshakes++;
        if (kind === 'event')
          self.r!.arrived.set(`${req.headers['forlop-subscription']}#${req.headers['forlop-event-number']}`, at);
        res.writeHead(200).end();
        for (const w of self.r!.waiters.splice(0)) w();
      });
    });
    server.keepAliveTimeout = 60_000;
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    self.r = new Receiver(server, `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`);
    return self.r;
  }

  async until(what: string, done: () => boolean, ms = 600_000): Promise<void> {
    const end = Date.now() + ms;
    while (!done()) {
      if (Date.now() > end) throw new Error(`bench: timed out waiting for ${what}`);
      await new Promise<void>((r) => {
        this.waiters.push(r);
        setTimeout(r, 200);
      });
    }
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((r) => this.server.close(r));
  }
}

const task = (patient: string) => ({
  resourceType: 'Task',
  status: 'requested',
  intent: 'order',
  for: { reference: `Patient/${patient}` },
});

/** Writes one Task per patient, `IN_FLIGHT` at once; when each write's response came. */
async function burst(base: string, patients: string[]): Promise<{ done: Map<string, number>; started: number }> {
  const done = new Map<string, number>();
  const started = performance.now();
  let next = 0;
  const writer = async () => {
    while (next < patients.length) {
      const p = patients[next++];
      await createResource(`${base}/Task`, task(p));
      done.set(p, performance.now());
    }
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, writer));
  return { done, started };
}

/** A plain node:http POST round trip to the receiver (the floor under any delivery). */
async function plainPost(url: string): Promise<number> {
  const t0 = performance.now();
  await new Promise<void>((resolve, reject) => {
    const req = request(url, { method: 'POST' }, (res) => {
      res.resume();
      res.on('end', resolve);
    });
    req.on('error', reject);
    req.end();
  });
  return performance.now() - t0;
}

/** The same burst of writes with no subscriptions: writes/s. */
async function bareWriteRate(n: number): Promise<number> {
  const running = await startInProcess(`${TODAY}T08:00:00Z`);
  try {
    const patients = Array.from({ length: n }, (_, i) => `bench-sub-${i}`);
    const { done, started } = await burst(running.url, patients);
    return n / ((Math.max(...done.values()) - started) / 1000);
  } finally {
    await running.close();
  }
}

interface Subscribed {
  patients: string[];
  subscriptionOf: Map<string, string>;
}

async function subscribeAll(base: string, receiver: Receiver, n: number): Promise<Subscribed> {
  const patients = Array.from({ length: n }, (_, i) => `bench-sub-${i}`);
  const subscriptionOf = new Map<string, string>();
  for (const p of patients) {
    const sub = await createResource(`${base}/Subscription`, {
      resourceType: 'Subscription',
      status: 'requested',
      reason: 'bench',
      criteria: `Task?patient=Patient/${p}`,
      channel: { type: 'rest-hook', endpoint: receiver.url },
    });
    subscriptionOf.set(p, `Subscription/${sub}`);
  }
  await receiver.until('the handshakes', () => receiver.handshakes >= n);
  return { patients, subscriptionOf };
}

async function oneSize(n: number): Promise<(string | number)[]> {
  const receiver = await Receiver.start();
  const running = await startInProcess(`${TODAY}T08:00:00Z`);
  const worker = startDelivery(running.built.services);
  try {
    const t0 = performance.now();
    const { patients, subscriptionOf } = await subscribeAll(running.url, receiver, n);
    const setupS = (performance.now() - t0) / 1000;
    const key = (p: string, number: number) => `${subscriptionOf.get(p)}#${number}`;
    // one write at a time: each patient's first event
    const one: number[] = [];
    const sequential = patients.slice(0, Math.min(SEQUENTIAL, n));
    for (const p of sequential) {
      await createResource(`${running.url}/Task`, task(p));
      const committed = performance.now();
      await receiver.until('an event', () => receiver.arrived.has(key(p, 1)));
      one.push((receiver.arrived.get(key(p, 1)) as number) - committed);
    }
    // the burst: a Task for every patient (event 2 for those written above, 1 for the others)
    const numberOf = (p: string) => (sequential.includes(p) ? 2 : 1);
    const { done, started } = await burst(running.url, patients);
    const writesPerS = n / ((Math.max(...done.values()) - started) / 1000);
    await receiver.until('the burst', () => patients.every((p) => receiver.arrived.has(key(p, numberOf(p)))));
    const arrivals = patients.map((p) => receiver.arrived.get(key(p, numberOf(p))) as number);
    const eventsPerS = n / ((Math.max(...arrivals) - started) / 1000);
    const inBurst = patients.map((p, i) => arrivals[i] - (done.get(p) as number));
    const plain: number[] = [];
    for (let i = 0; i < 200; i++) plain.push(await plainPost(receiver.url));
    const [a, b, c] = [stats(one), stats(inBurst), stats(plain)];
    const bare = await bareWriteRate(n);
    return [n, setupS, a.p50, a.p95, b.p50, b.p95, eventsPerS, writesPerS, bare, c.p50.toFixed(2)];
  } finally {
    await worker.stop();
    await running.close();
    await receiver.close();
  }
}

export async function subscriptionsBench(sizes: number[]): Promise<string> {
  const rows: (string | number)[][] = [];
  for (const n of sizes) rows.push(await oneSize(n));
  const websocket = await websocketPingBench();
  return [
    '### Subscriptions: event → POST (embedded SQLite, in one process, the worker with its default options)',
    '',
    [
      'N active rest-hook subscriptions, one per patient (`Task?patient=Patient/[p]`, no payload), to a local',
      `node:http receiver. "One at a time": ${SEQUENTIAL} Task writes (at most N), one at a time, each timed from`,
      'the write\'s response (its commit) to the POST arriving. "Burst": a Task for each of the N patients,',
      `${IN_FLIGHT} writes in flight; events/s from the first write to the last POST. The references: the same`,
      'burst with no subscriptions (bare writes/s) and a plain node:http POST round trip to the receiver.',
      'Goal: p95 ≤ 2 s.',
    ].join(' '),
    '',
    table(
      [
        'subscriptions',
        'setup s (create + handshakes)',
        'one at a time p50 ms',
        'p95 ms',
        'burst p50 ms',
        'p95 ms',
        'burst events/s delivered',
        'burst writes/s',
        'reference: bare writes/s',
        'reference: plain POST p50 ms',
      ],
      rows,
    ),
    '',
    websocket,
  ].join('\n');
}
