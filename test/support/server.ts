import request from 'supertest';
import type { Express } from 'express';
import { afterAll, beforeAll } from 'vitest';
import { ManualClock } from '../../src/fhir/clock.js';
import { buildApp, type AppOptions } from '../../src/http/app.js';
import { silentLog } from '../../src/http/log.js';
import type { Services } from '../../src/fhir/services.js';
import type { Storage } from '../../src/storage/types.js';
import type { Backend } from './backends.js';

export const BASE = 'http://forlop.test/fhir';
export const FHIR_JSON = 'application/fhir+json';

export interface TestServer {
  app: Express;
  services: Services;
  storage: Storage;
  /** The database's URL, for another server process on the same data. */
  databaseUrl: string;
  clock: ManualClock;
  /** Runs a FHIR request in process, as the server's own start-up loading does. */
  dispatch: ReturnType<typeof buildApp>['dispatch'];
  /** A supertest agent against the app. */
  http: () => request.Agent;
}

/**
 * Builds an app on a fresh database of the given backend before the file's tests, and removes it
 * afterwards. Requests go over HTTP through supertest.
 */
export function useServer(backend: Backend, options: Partial<AppOptions> = {}): TestServer {
  const ctx = {} as TestServer;
  let cleanup: () => Promise<void> = async () => undefined;
  beforeAll(async () => {
    const opened = await backend.open();
    cleanup = opened.cleanup;
    ctx.clock = new ManualClock(new Date('2026-10-01T08:00:00.000Z'));
    const built = buildApp({ storage: opened.storage, baseUrl: BASE, clock: ctx.clock, log: silentLog, ...options });
    await built.ready;
    ctx.app = built.app;
    ctx.services = built.services;
    ctx.dispatch = built.dispatch;
    ctx.storage = opened.storage;
    ctx.databaseUrl = opened.url;
    ctx.http = () => request.agent(built.app);
  });
  afterAll(async () => {
    await cleanup();
  });
  return ctx;
}

/**
 * Stores resources (with their ids) in one transaction before the file's tests, after `useServer`'s
 * own set-up; fails the file loudly if the server refuses them.
 */
export function useFixtures(
  t: TestServer,
  resources: () => ReadonlyArray<{ resourceType: string; id?: string }>,
): void {
  beforeAll(async () => {
    const entry = resources().map((resource) => ({
      resource,
      request: { method: 'PUT', url: `${resource.resourceType}/${resource.id}` },
    }));
    const res = await t
      .http()
      .post('/fhir')
      .set('Content-Type', FHIR_JSON)
      .set('Prefer', 'return=minimal')
      .send({ resourceType: 'Bundle', type: 'transaction', entry });
    if (res.status !== 200) throw new Error(`fixtures refused: ${res.status} ${JSON.stringify(res.body)}`);
  });
}
