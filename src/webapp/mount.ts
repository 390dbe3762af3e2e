import type { Express, NextFunction, Request, Response } from 'express';
import { bundleClient, type ClientBundle } from './bundle.js';
import { shell } from './shell.js';
import { STYLES } from './styles.js';

export interface WebappOptions {
  /** The FHIR base path (`/fhir`). */
  basePath: string;
  /** Authentication on: the SMART endpoints (the page signs in there first). Absent: no sign-in (loopback). */
  auth?: { tokenEndpoint: string; authorizationEndpoint?: string };
  clientId?: string;
  /** Bundle the script at start, so the first page is quick (the server does; tests, which rarely ask, do not). */
  warm?: boolean;
}

/** The app's own headers: its script and styles from this origin only, the FHIR API and the sign-in server. */
function securityHeaders(res: Response, authOrigins: string[]): void {
  const connect = ["'self'", ...authOrigins].join(' ');
  res.set({
    'Content-Security-Policy':
      `default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; ` +
      `connect-src ${connect}; form-action 'self' ${authOrigins.join(' ')}; base-uri 'none'; frame-ancestors 'none'`,
    'X-Content-Type-Options': 'nosniff',
    'Referrer-Policy': 'no-referrer',
    'X-Frame-Options': 'DENY',
  });
}

let bundle: Promise<ClientBundle> | undefined;
const client = () => (bundle ??= bundleClient());

const originsOf = (a: NonNullable<WebappOptions['auth']>) => [
  ...new Set([a.tokenEndpoint, a.authorizationEndpoint].filter((u): u is string => !!u).map((u) => new URL(u).origin)),
];

const wantsHtml = (req: Request) => (req.headers.accept ?? '').includes('text/html');

/**
 * The coordinator's and the patient's web app at `/app/`, mounted before the FHIR handlers: a page
 * shell, one bundled script and a stylesheet. Everything the page shows comes from the FHIR API, so
 * scopes and audit apply to it. A browser asking for `/` or the FHIR base is sent to `/app/`.
 */
export function mountWebapp(app: Express, o: WebappOptions): void {
  const authOrigins = o.auth ? originsOf(o.auth) : [];
  // bundled once per process, on first use or, when asked, right after start
  if (o.warm) setImmediate(() => void client().catch(() => undefined));

  app.get(['/', o.basePath || '/'], (req: Request, res: Response, next: NextFunction) => {
    if (req.method === 'GET' && wantsHtml(req) && !req.originalUrl.includes('?')) return res.redirect(302, '/app/');
    next();
  });
  app.get('/app', (req: Request, res: Response, next: NextFunction) =>
    req.originalUrl.split('?')[0] === '/app' ? res.redirect(301, '/app/') : next(),
  );
  app.get('/app/app.js', async (_req: Request, res: Response) => {
    const b = await client();
    securityHeaders(res, authOrigins);
    res.type('text/javascript').set('Cache-Control', 'public, max-age=3600').send(b.js);
  });
  app.get('/app/app.css', (_req: Request, res: Response) => {
    securityHeaders(res, authOrigins);
    res.type('text/css').set('Cache-Control', 'public, max-age=3600').send(STYLES);
  });
  app.get(/^\/app\/.*/, async (_req: Request, res: Response) => {
    const b = await client();
    securityHeaders(res, authOrigins);
    const page = shell({
      fhirPath: o.basePath,
      auth: o.auth !== undefined,
      clientId: o.clientId ?? 'forlop-webapp',
      scriptHash: b.hash,
    });
    res.type('text/html').set('Cache-Control', 'no-store').send(page);
  });
}
