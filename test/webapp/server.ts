import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ManualClock } from '../../src/fhir/clock.js';
import { loadExamples } from '../../src/fhir/example-loader.js';
import { buildApp, type App, type AppOptions } from '../../src/http/app.js';
import { silentLog } from '../../src/http/log.js';
import { STARTUP_DEFINITIONS } from '../../src/server.js';
import type { Backend } from '../support/backends.js';

export interface WebServer {
  /** http://127.0.0.1:port */
  origin: string;
  /** The FHIR base: origin + /fhir (the base URL the server's links use). */
  base: string;
  clock: ManualClock;
  built: App;
  close(): Promise<void>;
}

export interface WebServerOptions {
  now: string;
  /** The shipped example journeys (the demo data). */
  examples?: boolean;
  /** buildApp options that need the listening address (security: the token audience is the base URL). */
  options?: (base: string, clock: ManualClock) => Partial<AppOptions>;
}

/**
 * A real server listening on a loopback port, as a browser reaches it: its base URL is the address it
 * listens on (the Bundles' links point back to it), terminology, pathways and measures loaded.
 */
export async function startWebServer(backend: Backend, o: WebServerOptions): Promise<WebServer> {
  const opened = await backend.open();
  let handler: (req: IncomingMessage, res: ServerResponse) => void = (_q, res) => res.writeHead(503).end();
  const server = createServer((req, res) => handler(req, res));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const base = `${origin}/fhir`;
  const clock = new ManualClock(new Date(o.now));
  const built = buildApp({
    storage: opened.storage,
    baseUrl: base,
    clock,
    log: silentLog,
    ...o.options?.(base, clock),
  });
  await built.ready;
  // what the server loads at start-up, from its own list
  for (const [, load] of STARTUP_DEFINITIONS) await load(built.services);
  if (o.examples) await loadExamples(built.services, built.dispatch);
  handler = built.app;
  return {
    origin,
    base,
    clock,
    built,
    async close() {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
      await opened.cleanup();
    },
  };
}
