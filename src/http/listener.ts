import type { Express } from 'express';
import { randomUUID } from 'node:crypto';
import { createServer, STATUS_CODES, type Server, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { FhirError } from '../fhir/errors.js';
import type { LogFn } from './log.js';

/** How long Node's HTTP server waits for clients, and how large their headers may be. */
export interface HttpTimeouts {
  /** The whole request (headers and body) must arrive within this (ms; 0: no limit). 408 past it. */
  requestTimeoutMs: number;
  /** The headers must arrive within this (ms; at most requestTimeoutMs). 408 past it. */
  headersTimeoutMs: number;
  /** An idle keep-alive connection is closed after this (ms). */
  keepAliveTimeoutMs: number;
  /** The most bytes of request line and headers; 431 past it. */
  maxHeaderBytes: number;
}

export const DEFAULT_HTTP_TIMEOUTS: HttpTimeouts = {
  requestTimeoutMs: 30_000,
  headersTimeoutMs: 10_000,
  keepAliveTimeoutMs: 65_000,
  maxHeaderBytes: 16_384,
};

/**
 * Node checks request and header deadlines on a timer (30 s by default: a 30 s timeout then fired
 * after 30–60 s). A tenth of the shortest deadline, between 100 ms and 1 s, keeps it close.
 */
function checkingInterval(t: HttpTimeouts): number {
  const deadlines = [t.requestTimeoutMs, t.headersTimeoutMs].filter((ms) => ms > 0);
  return deadlines.length ? Math.min(1000, Math.max(100, Math.floor(Math.min(...deadlines) / 10))) : 1000;
}

/** The HTTP server of the app: the timeouts set deliberately, and errors below Express answered as FHIR. */
export function createHttpServer(app: Express, timeouts: HttpTimeouts, log: LogFn): Server {
  const server = createServer(
    {
      requestTimeout: timeouts.requestTimeoutMs,
      headersTimeout: timeouts.headersTimeoutMs,
      keepAliveTimeout: timeouts.keepAliveTimeoutMs,
      maxHeaderSize: timeouts.maxHeaderBytes,
      connectionsCheckingInterval: checkingInterval(timeouts),
    },
    app,
  );
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => answerClientError(err, socket, log));
  return server;
}

/** The FHIR answer to an error Node's HTTP parser or its deadlines raised, or undefined when nobody listens. */
export function clientErrorOf(err: NodeJS.ErrnoException): FhirError | undefined {
  switch (err.code) {
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return new FhirError(
        'request-timeout',
        "The request was not received in time: its headers and body must arrive within the server's request timeout",
      );
    case 'HPE_HEADER_OVERFLOW':
      return new FhirError('header-too-large', "The request's headers are larger than this server accepts");
    case 'HPE_CHUNK_EXTENSIONS_OVERFLOW':
      return new FhirError('too-large', "The request's chunk extensions are larger than this server accepts");
    default:
      // a malformed request line, header or chunk; anything else (ECONNRESET …) means the client is gone
      return err.code?.startsWith('HPE_')
        ? new FhirError('invalid', { message: 'The request is not valid HTTP/1.1', code: 'structure' })
        : undefined;
  }
}

/**
 * Node's own answer to these is a bare status line; ours is an OperationOutcome. A request whose
 * headers were read already has a response object (and the app set its X-Request-Id): it is
 * answered through it, so the access log records the status. Otherwise the answer is written to the
 * socket directly. Either way the connection is closed after it: the rest of the request is unread.
 */
function answerClientError(err: NodeJS.ErrnoException, socket: Duplex, log: LogFn): void {
  const fe = clientErrorOf(err);
  const res = (socket as Duplex & { _httpMessage?: ServerResponse | null })._httpMessage;
  if (!fe || !socket.writable || res?.headersSent) {
    socket.destroy();
    return;
  }
  const body = JSON.stringify(fe.toOutcome());
  if (res) {
    res.shouldKeepAlive = false;
    res.writeHead(fe.status, {
      'Content-Type': 'application/fhir+json; charset=utf-8',
      'Content-Length': Buffer.byteLength(body),
      Connection: 'close',
    });
    res.end(body);
    return;
  }
  const requestId = randomUUID();
  log({
    level: 'info',
    requestId,
    status: fe.status,
    msg: 'request refused before it reached the app',
    error: err.code,
  });
  const head = [
    `HTTP/1.1 ${fe.status} ${STATUS_CODES[fe.status]}`,
    'Content-Type: application/fhir+json; charset=utf-8',
    `Content-Length: ${Buffer.byteLength(body)}`,
    `X-Request-Id: ${requestId}`,
    'Connection: close',
  ];
  socket.end(`${head.join('\r\n')}\r\n\r\n${body}`);
}
