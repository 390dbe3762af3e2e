import { Worker } from 'node:worker_threads';
import type { OperationOutcomeIssue } from '@medplum/fhirtypes';
import type { SqlValue, Storage } from '../storage/types.js';

export interface WorkerSetup {
  kind: Storage['kind'];
  baseUrl: string;
}
export type ToWorker =
  | { type: 'validate'; id: number; json: string; profiles: string[] }
  | { type: 'sql-result'; id: number; rows?: unknown; error?: string };
export type ToMain =
  | { type: 'validated'; id: number; issues?: OperationOutcomeIssue[]; error?: string }
  | { type: 'sql'; id: number; method: 'all' | 'get'; sql: string; params: SqlValue[] };

/**
 * The worker's entry, a composition root of its own (src/app/validation-worker.ts): from the sources
 * (tsx), a small .mjs that loads the TypeScript through tsx; from the build output (dist/), the compiled
 * module itself. Named by URL, not imported: the area does not depend on the root.
 */
const WORKER_ENTRY = new URL(
  import.meta.url.endsWith('.ts') ? '../app/validation-worker.mjs' : '../app/validation-worker.js',
  import.meta.url,
);

/**
 * The validator in a worker thread, so that a long job (a registry report of many pages) validates
 * one page while this thread builds the next: the machine's second core does the validation. The
 * worker builds the same validator as the server (definitions, our profiles, the JSON schemas) —
 * a few seconds, spent while this thread works — and reads terminology through this thread's
 * storage (committed data; the caches keep such reads rare). It does not keep the process alive
 * while idle. One worker per job, closed at its end.
 */
export class ValidationWorker {
  private readonly worker: Worker;
  private readonly waiting = new Map<
    number,
    { resolve: (issues: OperationOutcomeIssue[]) => void; reject: (err: Error) => void }
  >();
  private next = 0;
  private failed?: Error;

  constructor(storage: Storage, baseUrl: string) {
    const setup: WorkerSetup = { kind: storage.kind, baseUrl };
    this.worker = new Worker(WORKER_ENTRY, { workerData: setup });
    this.worker.unref();
    this.worker.on('message', (m: ToMain) => {
      if (m.type === 'sql') {
        const run = m.method === 'all' ? storage.all(m.sql, m.params) : storage.get(m.sql, m.params);
        run.then(
          (rows) => this.worker.postMessage({ type: 'sql-result', id: m.id, rows } satisfies ToWorker),
          (err: Error) =>
            this.worker.postMessage({ type: 'sql-result', id: m.id, error: err.message } satisfies ToWorker),
        );
        return;
      }
      const w = this.waiting.get(m.id);
      this.waiting.delete(m.id);
      if (!this.waiting.size) this.worker.unref();
      if (m.error !== undefined) w?.reject(new Error(`validation worker: ${m.error}`));
      else w?.resolve(m.issues ?? []);
    });
    this.worker.on('error', (err) => this.fail(err));
    this.worker.on('exit', (code) => this.fail(new Error(`validation worker exited (${code})`)));
  }

  /** Validates a resource given as JSON (as the validator's `validate`, with these profiles). */
  validate(json: string, profiles: string[] = []): Promise<OperationOutcomeIssue[]> {
    if (this.failed) return Promise.reject(this.failed);
    const id = this.next++;
    // a job waiting for an answer keeps the process alive; an idle worker does not
    this.worker.ref();
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.worker.postMessage({ type: 'validate', id, json, profiles } satisfies ToWorker);
    });
  }

  async close(): Promise<void> {
    this.failed ??= new Error('validation worker closed');
    await this.worker.terminate();
  }

  private fail(err: Error): void {
    this.failed ??= err;
    for (const w of this.waiting.values()) w.reject(err);
    this.waiting.clear();
  }
}
