import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { signToken, type Keys } from '../security/support.js';

/** Who signs in next, and what the authorization server grants them. */
export interface TestUser {
  sub: string;
  scope: string;
  fhirUser?: string;
  patient?: string;
  /** More claims of the access token (a HelseID one's `hpr_number` …). */
  claims?: Record<string, unknown>;
}

interface Grant {
  user: TestUser;
  challenge: string;
  redirectUri: string;
  clientId: string;
}

export interface TestAuthServer {
  origin: string;
  /** The user the next /authorize signs in (no login form: the test is the user). */
  user: TestUser;
  /** The authorization requests received, as their query parameters. */
  requests: URLSearchParams[];
  close(): Promise<void>;
}

const json = (res: ServerResponse, status: number, body: unknown) =>
  res
    .writeHead(status, {
      'Content-Type': 'application/json',
      'Access-Control-Allow-Origin': '*',
      'Cache-Control': 'no-store',
    })
    .end(JSON.stringify(body));

async function form(req: IncomingMessage): Promise<URLSearchParams> {
  let body = '';
  for await (const chunk of req) body += chunk;
  return new URLSearchParams(body);
}

/**
 * A SMART authorization server for the tests: `/authorize` signs the configured user in at once and
 * redirects back with a code; `/token` checks the PKCE verifier (S256), the redirect URI and the client,
 * and answers a real signed access token (the keys the FHIR server trusts) with the launch context.
 */
export async function startAuthServer(keys: Keys, audience: () => string, now: () => Date, issuer: string) {
  const grants = new Map<string, Grant>();
  const s = { user: { sub: 'nobody', scope: '' }, requests: [] } as unknown as TestAuthServer;
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (req.method === 'OPTIONS') {
      return res
        .writeHead(204, {
          'Access-Control-Allow-Origin': '*',
          'Access-Control-Allow-Headers': 'Content-Type, Accept, Authorization, DPoP',
          'Access-Control-Allow-Methods': 'POST',
        })
        .end();
    }
    if (url.pathname === '/authorize') {
      s.requests.push(url.searchParams);
      const code = randomBytes(16).toString('hex');
      const q = url.searchParams;
      grants.set(code, {
        user: s.user,
        challenge: q.get('code_challenge') ?? '',
        redirectUri: q.get('redirect_uri') ?? '',
        clientId: q.get('client_id') ?? '',
      });
      const back = new URL(q.get('redirect_uri') as string);
      back.search = new URLSearchParams({ code, state: q.get('state') ?? '' }).toString();
      return res.writeHead(302, { Location: back.toString() }).end();
    }
    if (url.pathname === '/token' && req.method === 'POST') return void token(req, res);
    json(res, 404, { error: 'not_found' });
  });
  const token = async (req: IncomingMessage, res: ServerResponse) => {
    const p = await form(req);
    const grant = grants.get(p.get('code') ?? '');
    grants.delete(p.get('code') ?? '');
    const verifier = p.get('code_verifier') ?? '';
    const challenge = createHash('sha256').update(verifier).digest('base64url');
    if (!grant || grant.challenge !== challenge || grant.redirectUri !== p.get('redirect_uri'))
      return json(res, 400, { error: 'invalid_grant' });
    if (grant.clientId !== p.get('client_id')) return json(res, 400, { error: 'invalid_client' });
    const { user } = grant;
    const claims = {
      sub: user.sub,
      scope: user.scope,
      client_id: grant.clientId,
      fhirUser: user.fhirUser,
      patient: user.patient,
      ...user.claims,
    };
    const access = await signToken(keys, claims, { audience: audience(), issuer, now: now(), expiresIn: 3600 });
    json(res, 200, {
      access_token: access,
      token_type: 'Bearer',
      expires_in: 3600,
      scope: user.scope,
      ...(user.patient ? { patient: user.patient } : {}),
      ...(user.fhirUser ? { fhirUser: user.fhirUser } : {}),
    });
  };
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  s.origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  s.close = () => new Promise((r) => server.close(() => r()));
  return s;
}
