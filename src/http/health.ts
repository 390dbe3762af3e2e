import type { Request, Response } from 'express';
import { RETRY_AFTER_SECONDS } from '../storage/faults.js';
import type { Storage } from '../storage/types.js';
import { ping } from '../storage/ping.js';

/** `GET /healthz` (no token): 200 when the database answers, else 503 with Retry-After (a load balancer's check). */
export function health(storage: Storage): (req: Request, res: Response) => Promise<void> {
  return async (_req, res) => {
    try {
      await ping(storage);
      res.json({ status: 'ok', storage: storage.kind });
    } catch {
      res.status(503).setHeader('Retry-After', String(RETRY_AFTER_SECONDS)).json({ status: 'unavailable' });
    }
  };
}
