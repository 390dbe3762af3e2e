import { mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/fhir/clock.js';
import { buildApp } from '../../src/http/app.js';
import { createHttpServer } from '../../src/http/listener.js';
import { SqliteStorage } from '../../src/storage/sqlite.js';
import type { SqlExecutor, SqlValue, Storage, Tx } from '../../src/storage/types.js';
import { RawClient, type RawResponse } from '../support/raw-http.js';

/**
 * The edges of HTTP (issue 15), over a real socket: slow clients get 408, oversized headers 431,
 * malformed requests 400 — each an OperationOutcome, not Node's bare status line; idle keep-alive
 * connections are closed after the configured time; a 5xx names its request id, which the log line
 * (with the stack, for a bug) carries too.
 */
const TIMEOUTS = { requestTimeoutMs: 1000, headersTimeoutMs: 1000, keepAliveTimeoutMs: 400, maxHeaderBytes: 8192 };

/** The SQLite backend, failing every call with `fault.error` while it is set. */
class FaultyStorage implements Storage {
  readonly kind = 'sqlite' as const;
  error?: Error;
  constructor(private readonly inner: Storage) {}
  private check(): void {
    if (this.error) throw this.error;
  }
  async all<T extends object>(sql: string, params?: readonly SqlValue[]): Promise<T[]> {
    this.check();
    return this.inner.all<T>(sql, params);
  }
  async get<T extends object>(sql: string, params?: readonly SqlValue[]): Promise<T | undefined> {
    this.check();
    return this.inner.get<T>(sql, params);
  }
  async run(sql: string, params?: readonly SqlValue[]): Promise<{ changes: number }> {
    this.check();
    return this.inner.run(sql, params);
  }
  async transaction<T>(fn: (tx: Tx) => Promise<T>): Promise<T> {
    this.check();
    return this.inner.transaction(fn);
  }
  async snapshot<T>(fn: (db: SqlExecutor) => Promise<T>): Promise<T> {
    this.check();
    return this.inner.snapshot(fn);
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}

let dir: string;
let storage: FaultyStorage;
let server: Server;
let port: number;
const logs: Record<string, unknown>[] = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'forlop-http-edges-'));
  storage = new FaultyStorage(new SqliteStorage(join(dir, 'test.db')));
  const log = (entry: Record<string, unknown>) => logs.push(entry);
  const built = buildApp({
    storage,
    baseUrl: 'http://127.0.0.1/fhir',
    clock: new ManualClock(new Date('2026-10-01T08:00:00Z')),
    log,
    audit: false,
  });
  await built.ready;
  server = createHttpServer(built.app, TIMEOUTS, log);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
  await storage.close();
  rmSync(dir, { recursive: true, force: true });
});

beforeEach(() => {
  storage.error = undefined;
  logs.length = 0;
});

function outcomeOf(res: RawResponse): {
  resourceType: string;
  issue: { code: string; severity: string; diagnostics?: string }[];
} {
  expect(res.headers['content-type']).toMatch(/^application\/fhir\+json/);
  const body = JSON.parse(res.body);
  expect(body.resourceType).toBe('OperationOutcome');
  expect(body.issue.length).toBeGreaterThan(0);
  return body;
}

const patients = async () =>
  Number((await storage.get<{ n: number }>(`SELECT COUNT(*) AS n FROM resources WHERE type = 'Patient'`))?.n);

describe('slow clients', () => {
  it('headers sent too slowly: 408 with an OperationOutcome at the timeout, then the connection closes', async () => {
    const client = await RawClient.open(port);
    client.write('GET /fhir/metadata HTTP/1.1\r\nHost: forlop.test\r\n'); // and never the blank line
    const res = await client.response();
    expect(res.status).toBe(408);
    expect(outcomeOf(res).issue[0]).toMatchObject({ severity: 'error', code: 'timeout' });
    // Node checks deadlines on a timer; set to a tenth of the timeout, the answer comes close to it
    expect(res.ms).toBeGreaterThanOrEqual(TIMEOUTS.headersTimeoutMs - 50);
    expect(res.ms).toBeLessThan(TIMEOUTS.headersTimeoutMs + 2000);
    expect(res.headers.connection).toBe('close');
    await client.closed;
    const line = logs.find((l) => l.requestId === res.headers['x-request-id']);
    expect(line).toMatchObject({ level: 'info', status: 408 });
    expect(logs.filter((l) => l.level === 'error')).toEqual([]);
  });

  it('a body sent too slowly: 408 with an OperationOutcome, logged as 408 (not an error), nothing stored', async () => {
    const client = await RawClient.open(port);
    client.write(
      'POST /fhir/Patient HTTP/1.1\r\nHost: forlop.test\r\nContent-Type: application/fhir+json\r\n' +
        'Content-Length: 200\r\n\r\n{"resourceType":"Pat',
    );
    const res = await client.response();
    expect(res.status).toBe(408);
    expect(outcomeOf(res).issue[0].code).toBe('timeout');
    expect(res.ms).toBeLessThan(TIMEOUTS.requestTimeoutMs + 2000);
    const requestId = res.headers['x-request-id'];
    expect(requestId).toMatch(/^[0-9a-f-]{36}$/);
    await client.closed;
    await expect
      .poll(() => logs.find((l) => l.requestId === requestId))
      .toMatchObject({ level: 'info', method: 'POST', status: 408 });
    await new Promise((r) => setTimeout(r, 100)); // the handler, still awaiting the body, has given up too
    expect(logs.filter((l) => l.level === 'error')).toEqual([]);
    expect(await patients()).toBe(0);
  });
});

describe('keep-alive', () => {
  it('an idle connection is served while in use and closed after KEEP_ALIVE_TIMEOUT_MS of idleness', async () => {
    const client = await RawClient.open(port);
    client.write('GET /healthz HTTP/1.1\r\nHost: forlop.test\r\n\r\n');
    expect((await client.response()).status).toBe(200);
    await new Promise((r) => setTimeout(r, 150));
    client.write('GET /healthz HTTP/1.1\r\nHost: forlop.test\r\n\r\n');
    const second = await client.response();
    expect(second.status).toBe(200);
    const closedAt = await client.closed;
    // Node closes 1 s after the timeout it advertises (Keep-Alive: timeout=N), so a client that
    // honours the header never sends down a closing connection
    expect(closedAt - second.ms).toBeGreaterThanOrEqual(TIMEOUTS.keepAliveTimeoutMs - 50);
    expect(closedAt - second.ms).toBeLessThan(TIMEOUTS.keepAliveTimeoutMs + 1000 + 1500);
  });
});

describe('malformed and oversized requests', () => {
  it('headers over the limit: 431 with an OperationOutcome (too-long)', async () => {
    const client = await RawClient.open(port);
    client.write(
      `GET /fhir/metadata HTTP/1.1\r\nHost: forlop.test\r\n` +
        `X-Padding: ${'a'.repeat(TIMEOUTS.maxHeaderBytes + 100)}\r\n\r\n`,
    );
    const res = await client.response();
    expect(res.status).toBe(431);
    expect(outcomeOf(res).issue[0].code).toBe('too-long');
    expect(res.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    await client.closed;
    expect(logs.find((l) => l.requestId === res.headers['x-request-id'])).toMatchObject({
      status: 431,
      error: 'HPE_HEADER_OVERFLOW',
    });
  });

  it('a header line that is not HTTP: 400 with an OperationOutcome', async () => {
    const client = await RawClient.open(port);
    client.write('GET /fhir/metadata HTTP/1.1\r\nHost forlop.test\r\n\r\n');
    const res = await client.response();
    expect(res.status).toBe(400);
    expect(outcomeOf(res).issue[0].code).toBe('structure');
    await client.closed;
  });
});

describe('server errors name their request id', () => {
  it('a bug (storage throws a plain Error): 500 naming the request id; the stack is logged under it', async () => {
    storage.error = new Error('the disk controller said no');
    const res = await fetch(`http://127.0.0.1:${port}/fhir/Patient/p1`);
    expect(res.status).toBe(500);
    const requestId = res.headers.get('x-request-id') as string;
    const outcome = (await res.json()) as {
      resourceType: string;
      issue: { severity: string; code: string; diagnostics: string }[];
    };
    expect(outcome.resourceType).toBe('OperationOutcome');
    expect(outcome.issue[0]).toMatchObject({ severity: 'fatal', code: 'exception' });
    expect(outcome.issue[0].diagnostics).toContain(requestId);
    expect(JSON.stringify(outcome)).not.toMatch(/disk controller|at .*\.(ts|js):\d+/);
    const line = logs.find((l) => l.level === 'error' && l.requestId === requestId);
    expect(line?.error).toMatch(/the disk controller said no\n\s+at /);
    expect(logs.find((l) => l.level === 'info' && l.requestId === requestId)).toMatchObject({ status: 500 });
  });

  it('a lost database connection (57P01): 503, Retry-After, transient, the request id; no stack logged', async () => {
    storage.error = Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' });
    const res = await fetch(`http://127.0.0.1:${port}/fhir/Patient`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/fhir+json' },
      body: JSON.stringify({ resourceType: 'Patient' }),
    });
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('1');
    const outcome = (await res.json()) as { issue: { code: string; diagnostics: string }[] };
    expect(outcome.issue[0].code).toBe('transient');
    expect(outcome.issue[0].diagnostics).toContain(res.headers.get('x-request-id'));
    expect(logs.filter((l) => l.level === 'error')).toEqual([]);
    storage.error = undefined;
    expect(await patients()).toBe(0);
  });
});
