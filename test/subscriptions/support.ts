import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { Express } from 'express';
import { afterAll, beforeAll, expect } from 'vitest';
import { WebSocket } from 'ws';
import { createHttpServer, DEFAULT_HTTP_TIMEOUTS } from '../../src/http/listener.js';
import { subscriptionSockets } from '../../src/http/websocket.js';
import type { DpopVerifier } from '../../src/security/dpop.js';
import type { TokenVerifier } from '../../src/security/tokens.js';
import { startDelivery, type DeliveryWorker, type WorkerOptions } from '../../src/subscriptions/worker.js';
import type { Services } from '../../src/fhir/services.js';
import { buildApp } from '../../src/http/app.js';
import { silentLog } from '../../src/http/log.js';
import { openStorage } from '../../src/storage/open.js';
import { BASE, FHIR_JSON, type TestServer } from '../support/server.js';
import { waitFor } from '../support/wait-for.js';

/** One request a test endpoint received. */
export interface Received {
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
  body: string;
  subscription: string;
  number: number;
  kind: string;
}

/**
 * A real subscriber endpoint over HTTP on loopback (node:http, a free port): records what it is sent,
 * and answers 200 (`up`), 503 (`down`) or never (`hang`, a dead endpoint that holds the connection).
 */
export class Endpoint {
  readonly received: Received[] = [];
  mode: 'up' | 'down' | 'hang' = 'up';
  /** Requests held unanswered (`hang`). */
  hanging = 0;
  /** Requests refused while down (each one an attempt). */
  refused = 0;
  private constructor(
    private readonly server: Server,
    readonly url: string,
  ) {}

  static async start(path = '/hook'): Promise<Endpoint> {
    const self: { endpoint?: Endpoint } = {};
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => self.endpoint!.answer(req, Buffer.concat(chunks).toString('utf8'), res));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as { port: number }).port;
    self.endpoint = new Endpoint(server, `http://127.0.0.1:${port}${path}`);
    return self.endpoint;
  }

  private answer(req: IncomingMessage, body: string, res: import('node:http').ServerResponse): void {
    if (this.mode === 'hang') {
      this.hanging++;
      return;
    }
    if (this.mode === 'down') {
      this.refused++;
      res.writeHead(503).end();
      return;
    }
    this.received.push({
      method: req.method ?? '',
      path: req.url ?? '',
      headers: req.headers,
      body,
      subscription: String(req.headers['forlop-subscription'] ?? ''),
      number: Number(req.headers['forlop-event-number']),
      kind: String(req.headers['forlop-notification'] ?? ''),
    });
    res.writeHead(200).end();
  }

  /** The events received for one subscription, in the order they arrived. */
  events(subscriptionId: string): Received[] {
    return this.received.filter((r) => r.kind === 'event' && r.subscription === `Subscription/${subscriptionId}`);
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/**
 * A receiving endpoint for the file's tests, started before them and closed after: `endpoint()` is it.
 * The one place the ten test files start and stop theirs.
 */
export function useEndpoint(path?: string): () => Endpoint {
  let endpoint: Endpoint | undefined;
  beforeAll(async () => {
    endpoint = await Endpoint.start(path);
  });
  afterAll(async () => {
    await endpoint?.close();
  });
  return () => endpoint!;
}

export { waitFor };

/** A rest-hook Subscription on `criteria` to `endpoint`. */
export function restHook(criteria: string, endpoint: string, channel: Record<string, unknown> = {}) {
  return {
    resourceType: 'Subscription',
    status: 'requested',
    reason: 'test',
    criteria,
    channel: { type: 'rest-hook', endpoint, ...channel },
  };
}

/** Creates a Subscription over HTTP; returns its id. */
export async function subscribe(t: TestServer, subscription: object): Promise<string> {
  const res = await t.http().post('/fhir/Subscription').set('Content-Type', FHIR_JSON).send(subscription);
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body.id as string;
}

/** The Subscription's stored status (the server moves it). */
export async function statusOf(t: TestServer, id: string): Promise<{ status: string; error?: string }> {
  const res = await t.http().get(`/fhir/Subscription/${id}`);
  return { status: res.body.status, error: res.body.error };
}

/** Waits until the server has moved the Subscription to `status`. */
export function untilStatus(t: TestServer, id: string, status: string, ms = 10_000) {
  return waitFor(`Subscription/${id} ${status}`, async () => (await statusOf(t, id)).status === status, ms);
}

/** Creates an Organization named `name` over HTTP (a resource with no profile rules to satisfy). */
export async function createOrganization(t: TestServer, name: string): Promise<string> {
  const res = await t
    .http()
    .post('/fhir/Organization')
    .set('Content-Type', FHIR_JSON)
    .send({ resourceType: 'Organization', name });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body.id as string;
}

/** The delivery worker of a test server, with short polls and back-off, stopped after the file's tests. */
export function useDelivery(t: TestServer, options: WorkerOptions = {}): { worker: () => DeliveryWorker } {
  let worker: DeliveryWorker | undefined;
  beforeAll(() => {
    worker = startDelivery(t.services, { ...FAST, ...options });
  });
  afterAll(async () => {
    await worker?.stop();
  });
  return { worker: () => worker! };
}

/** Polls every 50 ms, retries after 20–200 ms, gives a request 1 s. */
export const FAST: WorkerOptions = { pollMs: 50, backoff: { baseMs: 20, maxMs: 200 }, requestTimeoutMs: 1_000 };

export interface OtherNode {
  worker: DeliveryWorker;
  services: Services;
  close(): Promise<void>;
}

/** Another API node in this process: its own app and connections on the test server's database. */
export async function otherNode(t: TestServer): Promise<OtherNode> {
  const storage = await openStorage(t.databaseUrl);
  const app = buildApp({ storage, baseUrl: BASE, clock: t.clock, log: silentLog });
  await app.ready;
  const worker = startDelivery(app.services, FAST);
  return {
    worker,
    services: app.services,
    async close() {
      await worker.stop();
      await storage.close();
    },
  };
}

/** A server node listening on loopback, with the websocket upgrade (src/http/websocket.ts) on its listener. */
export interface Listening {
  /** `ws://127.0.0.1:[port]/fhir/websocket` */
  socketUrl: string;
  close(): Promise<void>;
}

/** Serves `app` on a real listener with websocket Subscriptions on `services` (tokens: auth on). */
export async function listenWithSockets(
  app: Express,
  services: Services,
  tokens?: TokenVerifier,
  livenessMs?: number,
  dpop?: DpopVerifier,
): Promise<Listening> {
  const server = createHttpServer(app, DEFAULT_HTTP_TIMEOUTS, silentLog);
  const sockets = subscriptionSockets(services, '/fhir', tokens, livenessMs, dpop);
  server.on('upgrade', sockets.upgrade);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    socketUrl: `ws://127.0.0.1:${port}/fhir/websocket`,
    async close() {
      sockets.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A real `ws` client of the server's socket: every text message it is sent, in order. */
export class SocketClient {
  readonly messages: string[] = [];
  private readonly taken = new Map<string, number>();
  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => this.messages.push(data.toString()));
  }

  /** `autoPong: false` plays a client whose network went away: it answers no ping frame. */
  static async open(url: string, headers: Record<string, string> = {}, autoPong = true): Promise<SocketClient> {
    const ws = new WebSocket(url, { headers, autoPong });
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    return new SocketClient(ws);
  }

  send(text: string): void {
    this.ws.send(text);
  }

  /** The messages that start with `prefix` (`ping `, `bound `, `error `). */
  starting(prefix: string): string[] {
    return this.messages.filter((m) => m.startsWith(prefix));
  }

  /** The next message that starts with `prefix` not yet taken by `next` (waited for if need be). */
  next(prefix: string, ms = 10_000): Promise<string> {
    const index = this.taken.get(prefix) ?? 0;
    this.taken.set(prefix, index + 1);
    return waitFor(`'${prefix}' message ${index + 1}`, () => this.starting(prefix)[index], ms);
  }

  async close(): Promise<void> {
    if (this.ws.readyState === WebSocket.CLOSED) return;
    await new Promise<void>((resolve) => {
      this.ws.once('close', () => resolve());
      this.ws.close();
    });
  }
}

/** A websocket Subscription on `criteria` (R4: no endpoint, no payload: a ping only). */
export function websocketSubscription(criteria: string) {
  return {
    resourceType: 'Subscription',
    status: 'requested',
    reason: 'test',
    criteria,
    channel: { type: 'websocket' },
  };
}
