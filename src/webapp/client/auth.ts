import * as oauth from 'oauth4webapi';
import type { Session } from './fhir.js';

const KEY = 'forlop.session';
const PENDING = 'forlop.pending';
/** What the app asks for; the authorization server grants what the user may have (a patient gets `patient/`). */
const SCOPE = 'launch/patient fhirUser user/*.cruds patient/*.cruds';

interface Pending {
  verifier: string;
  state: string;
  back: string;
}

/** The authorization server as the FHIR server's `.well-known/smart-configuration` names it. */
async function discover(fhirBase: string): Promise<oauth.AuthorizationServer> {
  const res = await fetch(`${fhirBase}/.well-known/smart-configuration`, { headers: { Accept: 'application/json' } });
  if (!res.ok) throw new Error(`Fant ikke SMART-oppsettet (${res.status})`);
  const doc = (await res.json()) as oauth.AuthorizationServer;
  return { ...doc, issuer: doc.issuer };
}

const insecureOk = (as: oauth.AuthorizationServer) => {
  const host = new URL(as.token_endpoint ?? as.issuer).hostname;
  return host === '127.0.0.1' || host === 'localhost';
};

const redirectUri = () => `${location.origin}/app/`;

/** Sends the browser to sign in (authorization code with PKCE, S256), remembering where it was. */
async function startSignIn(fhirBase: string, clientId: string): Promise<never> {
  const as = await discover(fhirBase);
  const verifier = oauth.generateRandomCodeVerifier();
  const state = oauth.generateRandomState();
  const pending: Pending = { verifier, state, back: location.pathname + location.search };
  sessionStorage.setItem(PENDING, JSON.stringify(pending));
  const url = new URL(as.authorization_endpoint as string);
  url.search = new URLSearchParams({
    response_type: 'code',
    client_id: clientId,
    redirect_uri: redirectUri(),
    scope: SCOPE,
    state,
    aud: fhirBase,
    code_challenge: await oauth.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
  }).toString();
  location.assign(url.toString());
  return new Promise<never>(() => undefined);
}

/** Back from the authorization server: the code is exchanged for a token; the session is kept for the tab. */
async function finishSignIn(fhirBase: string, clientId: string, pending: Pending): Promise<Session> {
  const as = await discover(fhirBase);
  const client: oauth.Client = { client_id: clientId };
  const options = insecureOk(as) ? { [oauth.allowInsecureRequests]: true } : {};
  const params = oauth.validateAuthResponse(as, client, new URL(location.href), pending.state);
  const res = await oauth.authorizationCodeGrantRequest(
    as,
    client,
    oauth.None(),
    params,
    redirectUri(),
    pending.verifier,
    options,
  );
  const token = await oauth.processAuthorizationCodeResponse(as, client, res);
  const session: Session = {
    token: token.access_token,
    patient: typeof token.patient === 'string' ? token.patient : undefined,
    fhirUser: typeof token.fhirUser === 'string' ? token.fhirUser : undefined,
    hprNumber: hprNumberOf(token.access_token),
    scope: token.scope,
  };
  sessionStorage.setItem(KEY, JSON.stringify(session));
  sessionStorage.removeItem(PENDING);
  history.replaceState(null, '', pending.back);
  return session;
}

/** The session: none needed with authentication off; otherwise the tab's, or a sign-in now. */
export async function signIn(fhirBase: string, authOn: boolean, clientId: string): Promise<Session> {
  if (!authOn) return {};
  const kept = sessionStorage.getItem(KEY);
  if (kept) return JSON.parse(kept) as Session;
  const pending = sessionStorage.getItem(PENDING);
  if (pending && new URL(location.href).searchParams.has('code')) {
    return finishSignIn(fhirBase, clientId, JSON.parse(pending) as Pending);
  }
  return startSignIn(fhirBase, clientId);
}

/** Forgets the token (a 401: expired). */
export function signOut(): void {
  sessionStorage.removeItem(KEY);
}

/** A `patient/` session: the patient's own view only. */
export function isPatientSession(s: Session): boolean {
  return !!s.patient && !!s.scope && /(^|\s)patient\//.test(s.scope) && !/(^|\s)(user|system)\//.test(s.scope);
}

/** HelseID's claim of the person's HPR number, in its long and its short form (config/helseid.json). */
const HPR_CLAIMS = ['helseid://claims/hpr/hpr_number', 'hpr_number'];

/**
 * The HPR number a HelseID access token (a JWT) carries, read from its payload to choose what the
 * worklist asks for — not trusted for anything: the server checks the token on every request.
 */
export function hprNumberOf(accessToken: string): string | undefined {
  try {
    const payload = accessToken.split('.')[1] ?? '';
    const b64 = payload.replace(/-/g, '+').replace(/_/g, '/');
    const claims = JSON.parse(atob(b64.padEnd(Math.ceil(b64.length / 4) * 4, '='))) as Record<string, unknown>;
    const value = HPR_CLAIMS.map((c) => claims[c]).find((v) => typeof v === 'string' && /^\d{1,10}$/.test(v));
    return value as string | undefined;
  } catch {
    return undefined;
  }
}
