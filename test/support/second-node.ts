import request from 'supertest';
import { afterAll, beforeAll, expect } from 'vitest';
import { startChildServer, type ChildServer } from './child-server.js';
import { BASE, type TestServer } from './server.js';

export interface SecondNode {
  /** A supertest agent against the second server process. */
  http(): request.Agent;
  child(): ChildServer;
}

/**
 * The environment of a server process a test starts beside its own: the test server's public base URL
 * (as nodes behind one load balancer have) and no schedules or report files unless `env` sets them.
 */
export function quietNodeEnv(env: Record<string, string> = {}): Record<string, string> {
  return { BASE_URL: BASE, DEADLINE_CRON: '', REGISTRY_CRON: '', MEASURE_CRON: '', REGISTRY_OUTBOX: '', ...env };
}

/**
 * A second API node: `forlop serve` in a process of its own on the test server's database, with the
 * same public base URL (as nodes behind one load balancer have) and its schedules off unless `env`
 * turns them on. Started after the test server, stopped (gracefully, exit 0) after the file's tests.
 */
export function useSecondNode(t: TestServer, env: Record<string, string> = {}): SecondNode {
  let child: ChildServer | undefined;
  beforeAll(async () => {
    child = await startChildServer(t.databaseUrl, quietNodeEnv(env));
  }, 180_000);
  afterAll(async () => {
    if (child) expect(await child.stop()).toBe(0);
  });
  return {
    http: () => request.agent(child!.baseUrl),
    child: () => child!,
  };
}
