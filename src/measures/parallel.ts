import { Worker } from 'node:worker_threads';
import type { PlanDefinition } from '@medplum/fhirtypes';
import { FhirError } from '../fhir/errors.js';
import type { BatchAnswer, EvaluationSetup, ToWorker, WireResult } from './parallel-protocol.js';
import type { RawPathway } from './raw.js';

/** From how many candidate pathways an evaluation uses the worker: below it, one thread is as quick. */
export const parallel = { from: 5000 };

/** The worker's entry: through tsx from the sources, the compiled module from dist/ (as the validation worker). */
const WORKER_ENTRY = new URL(import.meta.url.endsWith('.ts') ? './worker.mjs' : './worker.js', import.meta.url);

type Answer = NonNullable<BatchAnswer['results']>;
type Waiting = { resolve: (a: Answer) => void; reject: (e: Error) => void };

/**
 * The evaluation worker thread (worker.ts), started at the first large evaluation and kept for the
 * next (its start costs about half a second of loading); it does not keep the process alive while
 * idle. A worker that fails fails what it was doing, and the next evaluation starts another.
 */
class SharedWorker {
  readonly worker = new Worker(WORKER_ENTRY);
  readonly waiting = new Map<number, Waiting>();
  failed?: Error;
  private next = 0;

  constructor(private readonly onFail: () => void) {
    this.worker.unref();
    this.worker.on('message', (m: BatchAnswer) => this.answer(m));
    this.worker.on('error', (err) => this.fail(err));
    this.worker.on('exit', (code) => this.fail(new Error(`measure evaluation worker exited (${code})`)));
  }

  id(): number {
    return this.next++;
  }

  send(m: ToWorker): void {
    if (this.failed) throw this.failed;
    this.worker.postMessage(m);
  }

  ask(m: Omit<Extract<ToWorker, { type: 'batch' }>, 'id'>): Promise<Answer> {
    const id = this.id();
    // a batch waiting for its answer keeps the process alive; an idle worker does not
    this.worker.ref();
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      try {
        this.send({ ...m, id });
      } catch (err) {
        this.waiting.delete(id);
        reject(err as Error);
      }
    });
  }

  private answer(m: BatchAnswer): void {
    const w = this.waiting.get(m.id);
    this.waiting.delete(m.id);
    if (!this.waiting.size) this.worker.unref();
    if (!m.error) return w?.resolve(m.results ?? []);
    const { category, issues, message } = m.error;
    w?.reject(category && issues ? FhirError.withIssues(category, issues) : new Error(`measure worker: ${message}`));
  }

  private fail(err: Error): void {
    this.failed ??= err;
    this.onFail();
    for (const w of this.waiting.values()) w.reject(err);
    this.waiting.clear();
  }
}

let shared: SharedWorker | undefined;

function sharedWorker(): SharedWorker {
  if (!shared || shared.failed) {
    const made: SharedWorker = new SharedWorker(() => {
      if (shared === made) shared = undefined;
    });
    shared = made;
  }
  return shared;
}

/**
 * One evaluation in the worker: the main thread reads batches of pathways in the snapshot and hands
 * their stored JSON over; the worker parses them and runs the criteria, so reading and evaluating
 * share the machine's two cores.
 */
export class WorkerEvaluation {
  private readonly shared = sharedWorker();
  private readonly evaluation = this.shared.id();
  private readonly sent = new Set<string>();

  constructor(setup: EvaluationSetup) {
    this.shared.send({ type: 'begin', evaluation: this.evaluation, setup });
  }

  /** A batch's pathways in scope with their groups, in order; the PlanDefinitions each sent once. */
  async evaluate(
    pathways: RawPathway[],
    planOf?: (canonical: string) => Promise<PlanDefinition | undefined>,
  ): Promise<Answer> {
    const plans: [string, PlanDefinition | null][] = [];
    for (const canonical of new Set(pathways.map((p) => p.plan))) {
      if (!planOf || canonical === undefined || this.sent.has(canonical)) continue;
      this.sent.add(canonical);
      plans.push([canonical, (await planOf(canonical)) ?? null]);
    }
    return this.shared.ask({ type: 'batch', evaluation: this.evaluation, pathways, plans });
  }

  close(): void {
    if (!this.shared.failed) this.shared.send({ type: 'end', evaluation: this.evaluation });
  }
}

/** A result from the worker as the tally reads it. */
export const fromWire = (r: WireResult) => ({
  members: new Set(r.members),
  observation: r.observation,
  strata: r.strata,
});
