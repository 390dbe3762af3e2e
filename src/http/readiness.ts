import type { Request, Response } from 'express';
import { FhirError } from '../fhir/errors.js';
import { RETRY_AFTER_SECONDS } from '../storage/faults.js';
import type { Storage } from '../storage/types.js';
import { ping } from '../storage/ping.js';

/**
 * Whether this node should be sent traffic: not while start-up work is still under way (each piece
 * is waited for by name), nor once it drains for shutdown. The database is asked at each check.
 */
export class Readiness {
  private readonly waiting = new Set<string>();
  private draining = false;

  waitFor(what: string): void {
    this.waiting.add(what);
  }

  done(what: string): void {
    this.waiting.delete(what);
  }

  /** Shutdown has begun: the load balancer should stop sending requests while in-flight ones finish. */
  drain(): void {
    this.draining = true;
  }

  /** Why the node is not ready (before asking the database), or undefined. */
  notReady(): string | undefined {
    if (this.draining) return 'the server is shutting down';
    if (this.waiting.size) return `start-up is not done (${[...this.waiting].join(', ')})`;
    return undefined;
  }
}

/** `GET /readyz` (no token): 200 when ready, else 503 with a transient OperationOutcome and Retry-After. */
export function readyz(storage: Storage, readiness: Readiness): (req: Request, res: Response) => Promise<void> {
  return async (_req, res) => {
    const why = readiness.notReady() ?? (await databaseAnswers(storage));
    if (!why) {
      res.json({ status: 'ready', storage: storage.kind });
      return;
    }
    const fe = new FhirError('transient', `Not ready: ${why}`, { 'Retry-After': String(RETRY_AFTER_SECONDS) });
    res.status(fe.status).set(fe.headers).type('application/fhir+json').send(JSON.stringify(fe.toOutcome()));
  };
}

async function databaseAnswers(storage: Storage): Promise<string | undefined> {
  try {
    await ping(storage);
    return undefined;
  } catch {
    return 'the database does not answer';
  }
}
