import { mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManualClock } from '../../src/fhir/clock.js';
import { buildApp, type App, type AppOptions } from '../../src/http/app.js';
import { silentLog } from '../../src/http/log.js';
import { loadPathways } from '../../src/pathways/loader.js';
import { SqliteStorage } from '../../src/storage/sqlite.js';
import type { Storage } from '../../src/storage/types.js';
import { loadTerminology } from '../../src/terminology/loader.js';

export interface InProcess {
  built: App;
  storage: Storage;
  clock: ManualClock;
  /** The listening server's FHIR base URL (http://127.0.0.1:port/fhir). */
  url: string;
  /** Closes the server, and the database with its folder when this made it. */
  close(): Promise<void>;
}

/**
 * A Forløp server in this process, listening on a free loopback port, with the shipped terminology
 * and pathways loaded and a clock set to `now`: for benchmarks, generators and the fuzz. The database
 * is a fresh SQLite file unless `storage` is given; `options` (baseUrl, security, audit …) go to buildApp,
 * `clock` lets options made beforehand share the clock.
 */
export async function startInProcess(
  now: string,
  options: Partial<AppOptions> & { storage?: Storage; clock?: ManualClock } = {},
): Promise<InProcess> {
  const dir = options.storage ? undefined : mkdtempSync(join(tmpdir(), 'forlop-in-process-'));
  const storage = options.storage ?? new SqliteStorage(join(dir as string, 'forlop.db'));
  const clock = options.clock ?? new ManualClock(new Date(now));
  const built = buildApp({ baseUrl: 'http://127.0.0.1/fhir', log: silentLog, ...options, storage, clock });
  await built.ready;
  await loadTerminology(built.services);
  await loadPathways(built.services);
  const server: Server = built.app.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  return {
    built,
    storage,
    clock,
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/fhir`,
    async close() {
      await new Promise((r) => server.close(r));
      if (dir) {
        await storage.close();
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}
