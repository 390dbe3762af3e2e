import { readFileSync } from 'node:fs';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_LIMITS } from '../../src/fhir/services.js';
import { BACKENDS } from '../support/backends.js';
import { openBrowser, screenshot, seriousViolations, type Browser } from './browser.js';
import { expectedRow, norwegian } from './expected.js';
import { fhirCall, seedUnit, type SeededUnit } from './seed.js';
import { startWebServer, type WebServer } from './server.js';

const SEEDED = 60;

/**
 * Issue 18: the coordinator's worklist in a real browser over a real server (SQLite: the page's
 * queries are the FHIR API's, which the storage tests cover on both backends), with a seeded unit of
 * 60 open pathways beside the demo journeys.
 */
describe('the worklist, in headless Chromium', () => {
  let s: WebServer;
  let b: Browser;
  let page: Page;
  let unit: SeededUnit;

  beforeAll(async () => {
    // pages of at most 100 (MAX_COUNT): the worklist must page through CarePlans whose includes exceed it
    const limits = { ...DEFAULT_LIMITS, maxCount: 100 };
    s = await startWebServer(BACKENDS[0], { now: '2026-11-20T09:00:00Z', examples: true, options: () => ({ limits }) });
    unit = await seedUnit(s.base, '2026-11-20', SEEDED);
    await fhirCall(s.base, 'POST', '$evaluate-deadlines', { resourceType: 'Parameters' });
    s.clock.set(new Date('2026-11-24T09:00:00Z')); // what fell overdue since is not a breach yet
    b = await openBrowser();
    page = await b.context.newPage();
  }, 180_000);
  afterAll(async () => {
    await b?.close();
    await s?.close();
  });

  const rows = () => page.locator('#arbeidsliste tbody tr');
  const choose = async (id: string, value: string) => {
    await page.selectOption(id, value);
    await page.waitForFunction(() => document.querySelector('#antall') !== null);
  };

  it('a browser at / reaches the worklist; each row says what the API says of its pathway', async () => {
    await page.goto(`${s.origin}/`);
    expect(new URL(page.url()).pathname).toBe('/app/');
    // the FHIR base sends a browser to the app too, and gives a FHIR client the CapabilityStatement (issue 20)
    const html = await fetch(s.base, { headers: { Accept: 'text/html' }, redirect: 'manual' });
    expect([html.status, html.headers.get('location')]).toEqual([302, '/app/']);
    const api = await fetch(s.base, { headers: { Accept: 'application/fhir+json' }, redirect: 'manual' });
    expect(api.status).toBe(200);
    expect((await api.json()).resourceType).toBe('CapabilityStatement');
    // the page runs only its own script and styles: no inline code, no framing
    const shell = await fetch(`${s.origin}/app/`);
    const csp = shell.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toContain('unsafe-inline');
    expect(await shell.text()).toContain('<html lang="nb">');
    await page.locator('#arbeidsliste').waitFor();
    expect(await page.textContent('#antall')).toContain(`${SEEDED} åpne forløp`);
    expect(await page.textContent('#antall')).toContain('i dag 24.11.2026');
    expect(await rows().count()).toBe(50);
    const standings = new Set<string>();
    for (let i = 0; i < 50; i++) {
      const row = rows().nth(i);
      const carePlan = (await row.getAttribute('data-careplan')) as string;
      const cells = await row.locator('td').allTextContents();
      const want = await expectedRow(s.base, carePlan);
      standings.add(want.standing);
      expect(await row.getAttribute('data-standing'), carePlan).toBe(want.standing);
      expect(cells[4], carePlan).toBe(want.due ? norwegian(want.due) : '–');
      expect(cells[5]).toBe(want.daysLeft === undefined ? '–' : String(want.daysLeft));
      expect(cells[6]).toBe(want.workingDaysLeft === undefined ? '–' : String(want.workingDaysLeft));
      const patient = unit.patients[unit.carePlans.indexOf(carePlan)];
      expect(cells[0]).toBe(patient.name);
      expect(cells[1]).toBe(`${patient.fnr.slice(0, 6)} *****`);
      expect(cells[8]).toMatch(/^(Kari Nordmann|Per Pettersen)$/);
    }
    // the seeded unit has every standing, so the comparison above covered each
    expect([...standings].sort()).toEqual(['breached', 'due-soon', 'on-time', 'overdue']);
    // sorted by due date, earliest first
    const dues = (await rows().locator('td:nth-child(5)').allTextContents()).map((d) =>
      d.split('.').reverse().join(''),
    );
    expect(dues).toEqual([...dues].sort());
    await screenshot(page, 'worklist');
    await screenshot(page, 'worklist-window', false); // the README's picture (docs/images/worklist.png)
    expect(await seriousViolations(page)).toEqual([]);
  }, 180_000); // many pages and API reads: generous under a full parallel test run

  it('filters by standing, pathway and unit; pages; sorts; downloads what it shows as CSV', async () => {
    await choose('#f-standing', 'overdue');
    const overdue = await rows().evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-standing')));
    expect(overdue.length).toBeGreaterThan(0);
    expect(new Set(overdue)).toEqual(new Set(['overdue']));
    expect(page.url()).toContain('status=overdue');
    await choose('#f-standing', '');
    await choose('#f-pathway', 'D07');
    expect(await page.textContent('#antall')).toContain(`${SEEDED / 2} åpne forløp`);
    expect(await rows().locator('td:nth-child(3)').allTextContents()).toEqual(Array(SEEDED / 2).fill('D07'));
    await choose('#f-pathway', '');
    await choose('#f-unit', unit.unit);
    expect(await page.textContent('#antall')).toContain(`${SEEDED} åpne forløp`);
    await page.getByRole('button', { name: 'Neste', exact: true }).click();
    expect(await page.textContent('#side')).toBe('Side 2 av 2');
    expect(await rows().count()).toBe(SEEDED - 50);
    await choose('#f-sort', 'patient');
    await page.getByRole('button', { name: 'Forrige', exact: true }).click();
    const names = await rows().locator('td:nth-child(1)').allTextContents();
    expect(names).toEqual([...names].sort((a, b) => a.localeCompare(b, 'nb')));
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#csv')]);
    const csv = readFileSync((await download.path()) as string, 'utf8')
      .replace(/^\uFEFF/, '')
      .trim()
      .split('\r\n');
    expect(csv[0]).toContain('"Pasient";"Fødselsnummer";"Forløp";"Neste milepæl";"Frist"');
    expect(csv.length).toBe(SEEDED + 1);
    expect(csv.join('\n')).not.toContain(unit.patients[0].fnr);
  });
});
