import type { Bundle, QuestionnaireResponse } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TokenVerifier } from '../../src/security/tokens.js';
import { BACKENDS } from '../support/backends.js';
import { ISSUER, makeKeys, signToken, type Keys } from '../security/support.js';
import { startAuthServer, type TestAuthServer } from './auth-server.js';
import { openBrowser, screenshot, seriousViolations, type Browser } from './browser.js';
import { fhirCall, seedUnit, type SeededUnit } from './seed.js';
import { startWebServer, type WebServer } from './server.js';

/**
 * Issue 18 with authentication on: the app reads the SMART configuration and signs in with the
 * authorization code flow and PKCE against a test authorization server; a coordinator's token shows
 * the worklist ("mine" by CareTeam), a patient's token only the patient's own pathway.
 */
describe('signing in, and the patient view, in headless Chromium', () => {
  let keys: Keys;
  let as: TestAuthServer;
  let s: WebServer;
  let b: Browser;
  let unit: SeededUnit;
  let system: () => Promise<string>;

  beforeAll(async () => {
    keys = await makeKeys();
    const holder: { s?: WebServer } = {};
    const now = () => holder.s?.clock.now() ?? new Date();
    as = await startAuthServer(keys, () => holder.s?.base ?? '', now, ISSUER);
    s = await startWebServer(BACKENDS[0], {
      now: '2026-11-20T09:00:00Z',
      options: (base, clock) => ({
        security: {
          tokens: new TokenVerifier({ issuer: ISSUER, audience: base, jwks: keys.jwksFile }, clock),
          smart: {
            issuer: ISSUER,
            tokenEndpoint: `${as.origin}/token`,
            authorizationEndpoint: `${as.origin}/authorize`,
          },
        },
        audit: true,
      }),
    });
    holder.s = s;
    system = () => signToken(keys, { scope: 'system/*.cruds' }, { audience: s.base, now: s.clock.now() });
    unit = await seedUnit(s.base, '2026-11-20', 8, 2, await system());
    b = await openBrowser();
  }, 180_000);
  afterAll(async () => {
    await b?.close();
    await s?.close();
    await as?.close();
  });

  /** A fresh tab signed in as `user` (the session is kept per tab, in sessionStorage). */
  const signIn = async (user: TestAuthServer['user'], path = '/app/') => {
    as.user = user;
    const page = await b.context.newPage();
    await page.goto(`${s.origin}${path}`);
    return page;
  };

  it('without a token the API refuses the page; the app signs in with code + PKCE and shows the worklist', async () => {
    expect((await fetch(`${s.base}/CarePlan`)).status).toBe(401);
    const page = await signIn({ sub: 'kari', scope: 'user/*.cruds fhirUser', fhirUser: unit.coordinators[0] });
    await page.locator('#arbeidsliste').waitFor();
    const request = as.requests.at(-1) as URLSearchParams;
    expect(request.get('code_challenge_method')).toBe('S256');
    expect(request.get('code_challenge')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(request.get('aud')).toBe(s.base);
    expect(request.get('redirect_uri')).toBe(`${s.origin}/app/`);
    expect(new URL(page.url()).search).toBe(''); // the code is not left in the address bar
    expect(await page.textContent('#antall')).toContain('8 åpne forløp');
    expect(await page.textContent('#bruker')).toContain(unit.coordinators[0]);
    await page.getByLabel('Mine forløp').check();
    expect(await page.textContent('#antall')).toContain('4 åpne forløp');
    expect(new Set(await page.locator('#arbeidsliste tbody td:nth-child(9)').allTextContents())).toEqual(
      new Set(['Kari Nordmann']),
    );
    await screenshot(page, 'worklist-signed-in');
    await page.close();
  });

  it('"mine" by the HPR number a HelseID-shaped token carries, with no fhirUser', async () => {
    const hpr = { 'helseid://claims/hpr/hpr_number': unit.hprNumbers[1] };
    const page = await signIn({ sub: 'per', scope: 'user/*.cruds', claims: hpr });
    await page.locator('#arbeidsliste').waitFor();
    expect(await page.textContent('#antall')).toContain('8 åpne forløp');
    await page.getByLabel('Mine forløp').check();
    expect(await page.textContent('#antall')).toContain('4 åpne forløp');
    expect(new Set(await page.locator('#arbeidsliste tbody td:nth-child(9)').allTextContents())).toEqual(
      new Set(['Per Pettersen']),
    );
    await page.close();
  });

  it("a patient's token: their own pathway, next step and coordinator, nothing of any other patient", async () => {
    const me = unit.patients[3];
    const seen = new Set<string>();
    const page = await b.context.newPage();
    page.on('response', async (r) => {
      if (!r.url().startsWith(s.base) || !r.ok()) return;
      const text = await r.text().catch(() => '');
      for (const m of text.matchAll(/Patient\/([A-Za-z0-9.-]+)/g)) seen.add(m[1]);
      for (const m of text.matchAll(/"resourceType":"Patient","id":"([^"]+)"/g)) seen.add(m[1]);
    });
    as.user = { sub: me.id, scope: 'patient/*.cruds launch/patient', patient: me.id };
    await page.goto(`${s.origin}/app/forlop/${unit.carePlans[0]}`);
    await page.locator('#neste').waitFor();
    expect(await page.textContent('h1')).toContain('Ditt forløp');
    expect(await page.textContent('#neste')).toMatch(/^Neste steg: .+, senest \d{2}\.\d{2}\.\d{4}\.$/);
    expect(await page.textContent('#koordinator')).toContain('Per Pettersen');
    const body = (await page.textContent('body')) ?? '';
    for (const other of unit.patients.filter((p) => p.id !== me.id)) {
      expect(body).not.toContain(other.name);
      expect(body).not.toContain(other.fnr.slice(0, 6));
    }
    expect([...seen]).toEqual([me.id]);
    expect(await page.locator('#arbeidsliste').count()).toBe(0);
    await screenshot(page, 'patient');
    expect(await seriousViolations(page)).toEqual([]);

    await page.getByLabel('Hvordan vil du beskrive situasjonen din nå?').fill('Jeg sover dårlig og er sliten.');
    await page.getByRole('button', { name: 'Send' }).click();
    await page.locator('#egen-beskrivelse dd').first().waitFor();
    expect(await page.textContent('#egen-beskrivelse')).toContain('Jeg sover dårlig og er sliten.');
    const found = await fhirCall<Bundle<QuestionnaireResponse>>(
      s.base,
      'GET',
      `QuestionnaireResponse?subject=Patient/${me.id}`,
      undefined,
      await system(),
    );
    const qr = found.entry?.[0]?.resource as QuestionnaireResponse;
    expect(qr.questionnaire).toBe('http://forlop.no/fhir/Questionnaire/own-description|0.1.0');
    expect(qr.author?.reference).toBe(`Patient/${me.id}`);
    // the API, not the page, keeps the patient out of others' records: the same token gets 404 there
    const token = await page.evaluate(() => JSON.parse(sessionStorage.getItem('forlop.session') ?? '{}').token);
    const res = await fetch(`${s.base}/CarePlan/${unit.carePlans[0]}`, {
      headers: { Authorization: `Bearer ${token}` },
    });
    expect(res.status).toBe(404);
    // and every read the page made is in the audit trail, under the patient's token
    const audit = await fhirCall<Bundle>(
      s.base,
      'GET',
      `AuditEvent?patient=Patient/${me.id}&_count=200`,
      undefined,
      await system(),
    );
    const mine = (audit.entry ?? []).filter((e) => JSON.stringify(e.resource).includes('patient/*.cruds'));
    expect(mine.length).toBeGreaterThan(3);
    expect(JSON.stringify(mine)).toContain('forlop-webapp');
    await page.close();
  });
});
