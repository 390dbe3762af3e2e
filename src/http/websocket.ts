import type { IncomingMessage } from 'node:http';
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { asFhirError, FhirError } from '../fhir/errors.js';
import type { Services } from '../fhir/services.js';
import type { DpopVerifier } from '../security/dpop.js';
import type { Principal } from '../security/principal.js';
import type { TokenVerifier } from '../security/tokens.js';
import { bindSocket } from '../subscriptions/bind.js';
import type { SubscriberSocket } from '../subscriptions/sockets.js';
import { authenticate, type AuthRequest } from './auth.js';

/** Where the server's socket is, under the FHIR base (advertised by `capabilitystatement-websocket`). */
export const WEBSOCKET_PATH = '/websocket';

/** The listener's `upgrade` handler for websocket Subscriptions, and what closes their sockets at shutdown. */
export interface SubscriptionSockets {
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
  /** Closes every socket (1001 going away): a client binds again on another node, which then pings. */
  close(): void;
}

/** A bind message and what is sent on it: a few hundred bytes, a bearer token included. */
const MAX_MESSAGE_BYTES = 16 * 1024;

/**
 * R4 §subscription websockets on the HTTP listener: a WebSocket at `[base]/websocket` where a client sends
 * `bind [id]` and is answered `bound [id]`, then `ping [id]` for each event. With authentication on, the
 * token is checked exactly as on REST (auth.ts: SMART or HelseID tokens, DPoP): in the upgrade request's
 * `Authorization` (server-side clients) — `DPoP <token>` with a `DPoP` proof of the upgrade, htm GET and
 * htu the socket's URL — or, unless DPoP is required, as the bind's second word, `bind [id] [token]`, a
 * bearer token (a browser's WebSocket cannot set headers; a token in the URL would end up in proxies'
 * logs). RFC 9449 has no websocket binding: the upgrade is the one HTTP request there is to prove. An
 * invalid header token refuses the upgrade (401 with the REST challenge).
 */
export function subscriptionSockets(
  svc: Services,
  basePath: string,
  tokens?: TokenVerifier,
  livenessMs = LIVENESS_MS,
  dpop?: DpopVerifier,
): SubscriptionSockets {
  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_MESSAGE_BYTES });
  const path = `${basePath}${WEBSOCKET_PATH}`;
  const liveness = checkLiveness(wss, livenessMs);
  return {
    upgrade(req, socket, head) {
      // a client gone during the upgrade (ECONNRESET) must not be an unhandled error event
      socket.on('error', () => socket.destroy());
      if (!URL.canParse(req.url ?? '', 'http://socket') || new URL(req.url ?? '', 'http://socket').pathname !== path)
        return refuseUpgrade(socket, new FhirError('not-found', 'Not found'));
      const auth = { tokens, dpop, path, address: req.socket };
      headerPrincipal(req, auth).then(
        (token) =>
          wss.handleUpgrade(req, socket, head, (ws) => {
            wss.emit('connection', ws, req);
            serve(svc, ws, auth, token);
          }),
        (err: unknown) => refuseUpgrade(socket, asFhirError(err)),
      );
    },
    close() {
      clearInterval(liveness);
      for (const ws of wss.clients) ws.close(1001, 'server shutting down');
      wss.close();
    },
  };
}

/** How often each socket is sent a WebSocket ping frame (RFC 6455 §5.5.2), and must have answered the last. */
const LIVENESS_MS = 30_000;

/**
 * A client gone without closing (its network dropped) leaves a socket that still takes writes: pings
 * would be marked delivered into the void. Each socket must answer a ping frame within `everyMs`, or
 * it is dropped and unbound — its subscription's next events wait for a bind again.
 */
function checkLiveness(wss: WebSocketServer, everyMs: number): NodeJS.Timeout {
  const alive = new WeakSet<WebSocket>();
  wss.on('connection', (ws) => {
    alive.add(ws);
    ws.on('pong', () => alive.add(ws));
  });
  const timer = setInterval(() => {
    for (const ws of wss.clients) {
      if (!alive.delete(ws)) ws.terminate();
      else ws.ping();
    }
  }, everyMs);
  timer.unref();
  return timer;
}

/** A verified token's principal and when it expires (epoch seconds). */
interface Verified {
  principal: Principal;
  exp?: number;
}

/** How a socket's caller is authenticated: the REST path's verifiers, the socket's path, the connection. */
interface SocketAuth {
  tokens?: TokenVerifier;
  dpop?: DpopVerifier;
  path: string;
  address: AuthRequest['socket'];
}

/** What auth.ts reads of a request, for the upgrade (a GET) or for a bind's token (as if a GET with it). */
function authRequest(auth: SocketAuth, headers: IncomingMessage['headers'], distinct: AuthRequest['headersDistinct']) {
  return { headers, headersDistinct: distinct, method: 'GET', originalUrl: auth.path, socket: auth.address };
}

/** The principal of a request the REST path accepts, and its token's expiry (the token's claims are cached). */
async function verified(auth: SocketAuth, req: AuthRequest, token: string): Promise<Verified> {
  const tokens = auth.tokens as TokenVerifier;
  const principal = await authenticate(req, tokens, auth.dpop);
  const { exp } = await tokens.verify(token);
  return { principal, exp: typeof exp === 'number' ? exp : undefined };
}

/**
 * The upgrade's token, verified as on REST (401 with the REST challenge when it is not valid); none
 * without it — unless DPoP is required: then the upgrade is the only place a proof can be, and it must.
 */
async function headerPrincipal(req: IncomingMessage, auth: SocketAuth): Promise<Verified | undefined> {
  const header = req.headers.authorization;
  const required = auth.dpop?.settings.mode === 'required';
  if (!auth.tokens || (!header && !required)) return undefined;
  const token = /^\S+\s+(\S+)\s*$/.exec(header ?? '')?.[1] ?? '';
  return verified(auth, authRequest(auth, req.headers, req.headersDistinct), token);
}

/**
 * `bind [id] [token]`: a bearer token, checked as `Authorization: Bearer` on REST (a DPoP-bound token
 * is refused as a bearer one, RFC 9449 §7.1). With DPoP required there is no proof a bind could carry
 * that binds it to this socket: the token goes with its proof on the upgrade instead.
 */
async function bindPrincipal(auth: SocketAuth, token: string): Promise<Verified> {
  if (auth.dpop?.settings.mode === 'required')
    throw new FhirError(
      'unauthorized',
      'DPoP is required: send Authorization: DPoP and a DPoP proof (htm GET, htu the socket URL) on the upgrade',
    );
  const authorization = `Bearer ${token}`;
  return verified(auth, authRequest(auth, { authorization }, { authorization: [authorization] }), token);
}

/** An upgrade refused with an HTTP answer (an OperationOutcome), the connection closed. */
function refuseUpgrade(socket: Duplex, err: FhirError): void {
  const body = JSON.stringify(err.toOutcome());
  const head = [
    `HTTP/1.1 ${err.status} ${STATUS_CODES[err.status]}`,
    'Content-Type: application/fhir+json; charset=utf-8',
    `Content-Length: ${Buffer.byteLength(body)}`,
    'Connection: close',
  ];
  if (err.status === 401) head.push(`WWW-Authenticate: ${err.headers['WWW-Authenticate'] ?? 'Bearer realm="forlop"'}`);
  if (err.headers['DPoP-Nonce']) head.push(`DPoP-Nonce: ${err.headers['DPoP-Nonce']}`);
  socket.end(`${head.join('\r\n')}\r\n\r\n${body}`);
}

/** One client's socket: its bind messages answered, its bindings forgotten when it closes. */
function serve(svc: Services, ws: WebSocket, auth: SocketAuth, header?: Verified): void {
  const socket: SubscriberSocket = {
    send: (text) =>
      new Promise((resolve, reject) => {
        if (ws.readyState !== ws.OPEN) return reject(new Error('the socket is closed'));
        ws.send(text, (err) => (err ? reject(err) : resolve()));
      }),
  };
  const timers: NodeJS.Timeout[] = [];
  ws.on('message', (data, binary) => {
    const text = binary ? '' : data.toString();
    void onMessage(svc, ws, socket, text, { auth, header, timers });
  });
  ws.on('close', () => {
    svc.subscriptionSignal.sockets.unbind(socket);
    for (const timer of timers) clearTimeout(timer);
  });
  ws.on('error', () => ws.terminate());
}

interface Auth {
  auth: SocketAuth;
  header?: Verified;
  timers: NodeJS.Timeout[];
}

/** `bind [id]` or `bind [id] [token]`; anything else is answered with an error and the socket stays open. */
async function onMessage(svc: Services, ws: WebSocket, socket: SubscriberSocket, text: string, auth: Auth) {
  const bind = /^bind\s+(\S+)(?:\s+(\S+))?\s*$/.exec(text);
  if (!bind) return socket.send(`error expected 'bind [id]'`).catch(() => undefined);
  const [, id, token] = bind;
  try {
    const who = token && auth.auth.tokens ? await bindPrincipal(auth.auth, token) : auth.header;
    if (auth.auth.tokens && !who)
      throw new FhirError('unauthorized', 'An access token is needed: the Authorization header, or bind [id] [token]');
    await bindSocket(who ? { ...svc, principal: who.principal } : svc, id, socket);
    if (who?.exp !== undefined) closeAtExpiry(svc, ws, who.exp, auth.timers);
  } catch (err) {
    const message = asFhirError(err).toOutcome().issue[0]?.diagnostics ?? 'the bind was refused';
    await socket.send(`error ${id} ${message}`).catch(() => undefined);
  }
}

/** A socket bound with a token stays bound no longer than the token is valid (by the server's clock). */
function closeAtExpiry(svc: Services, ws: WebSocket, exp: number, timers: NodeJS.Timeout[]): void {
  const ms = exp * 1000 - svc.clock.now().getTime();
  const timer = setTimeout(() => ws.close(1008, 'the access token expired'), Math.max(0, Math.min(ms, 2 ** 31 - 1)));
  timer.unref();
  timers.push(timer);
}
