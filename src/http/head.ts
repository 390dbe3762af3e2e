import type { RequestHandler, Response } from 'express';

type End = (chunk?: unknown, encoding?: unknown, callback?: unknown) => Response;

/**
 * HEAD (RFC 9110 §9.3.2; FHIR R4 §3.1.0 "servers SHOULD support HEAD"): answered exactly as GET, with
 * the same status and headers and no body. Every later handler sees a GET, so no route is written
 * twice; Node itself leaves out the body, having marked the response body-less when the HEAD request
 * arrived. The method is put back when the response is finished, so the request log (whose listener
 * runs after this one's) records HEAD.
 */
export function headAsGet(): RequestHandler {
  return (req, res, next) => {
    if (req.method === 'HEAD') {
      req.method = 'GET';
      // what the client sent, for what must name it (a DPoP proof's htm)
      res.locals.clientMethod = 'HEAD';
      res.once('finish', () => {
        req.method = 'HEAD';
      });
      keepContentLength(res);
    }
    next();
  };
}

/**
 * Node sets Content-Length from the body a handler ends a GET with, but not for a HEAD, whose body it
 * drops: set it here, so the HEAD says what the GET would (RFC 9110 §8.6 allows it on a HEAD).
 */
function keepContentLength(res: Response): void {
  const end = res.end.bind(res) as End;
  res.end = ((chunk?: unknown, encoding?: unknown, callback?: unknown) => {
    if (!res.headersSent && !res.hasHeader('Content-Length')) {
      if (typeof chunk === 'string') {
        const enc = typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8';
        res.setHeader('Content-Length', Buffer.byteLength(chunk, enc));
      } else if (chunk instanceof Uint8Array) res.setHeader('Content-Length', chunk.byteLength);
    }
    return end(chunk, encoding, callback);
  }) as Response['end'];
}
