import type { RequestHandler } from 'express';
import { randomUUID } from 'node:crypto';

/** Structured logs: one JSON object per line. */
export type LogFn = (entry: Record<string, unknown>) => void;

export const jsonLog: LogFn = (entry) => {
  process.stdout.write(`${JSON.stringify({ time: new Date().toISOString(), ...entry })}\n`);
};

export const silentLog: LogFn = () => undefined;

/**
 * Gives every request an id (the `X-Request-Id` header, and `res.locals.requestId` for the error
 * log and the OperationOutcome of a 5xx) and logs one line per request when it is answered.
 */
export function requestLog(log: LogFn): RequestHandler {
  return (req, res, next) => {
    const requestId = randomUUID();
    res.locals.requestId = requestId;
    res.setHeader('X-Request-Id', requestId);
    if (log === silentLog) return next();
    const start = process.hrtime.bigint();
    res.on('finish', () => {
      const ms = Math.round(Number(process.hrtime.bigint() - start) / 1e4) / 100;
      log({
        level: 'info',
        requestId,
        method: req.method,
        path: req.originalUrl.split('?')[0],
        status: res.statusCode,
        ms,
      });
    });
    next();
  };
}
