import { parentPort, workerData } from 'node:worker_threads';
import type { Resource } from '@medplum/fhirtypes';
import { createServices } from './services.js';
import type { SqlValue, Storage } from '../storage/types.js';
import type { ToMain, ToWorker, WorkerSetup } from '../validation/parallel.js';

/**
 * A validator in a thread of its own (see parallel.ts): the same FhirValidator the server builds,
 * over the parent's database — its SQL (terminology and stored profiles, read rarely: the caches
 * keep them) is answered by the parent, so the worker needs no connection or configuration.
 */
const port = parentPort;
if (!port) throw new Error('worker-thread.ts runs as a worker thread');
const setup = workerData as WorkerSetup;
const waiting = new Map<number, { resolve: (rows: unknown) => void; reject: (err: Error) => void }>();
let next = 0;
const send = (m: ToMain) => port.postMessage(m);

function ask(method: 'all' | 'get', sql: string, params: readonly SqlValue[] = []): Promise<never> {
  const id = next++;
  return new Promise((resolve, reject) => {
    waiting.set(id, { resolve: resolve as (rows: unknown) => void, reject });
    send({ type: 'sql', id, method, sql, params: [...params] });
  });
}

const refuse = () => Promise.reject(new Error('the validation worker only reads'));
const storage: Storage = {
  kind: setup.kind,
  all: (sql, params) => ask('all', sql, params),
  get: (sql, params) => ask('get', sql, params),
  run: refuse,
  transaction: refuse,
  snapshot: refuse,
  close: async () => undefined,
};
const services = createServices({ storage, baseUrl: setup.baseUrl });
const ready = services.ready;

port.on('message', (m: ToWorker) => {
  if (m.type === 'sql-result') {
    const w = waiting.get(m.id);
    waiting.delete(m.id);
    if (m.error !== undefined) w?.reject(new Error(m.error));
    else w?.resolve(m.rows);
    return;
  }
  void (async () => {
    try {
      await ready;
      const resource = JSON.parse(m.json) as Resource;
      send({
        type: 'validated',
        id: m.id,
        issues: await services.validator.validate(resource, { profiles: m.profiles }),
      });
    } catch (err) {
      send({ type: 'validated', id: m.id, error: err instanceof Error ? err.message : String(err) });
    }
  })();
});
