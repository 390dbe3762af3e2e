import type { List, MeasureReport } from '@medplum/fhirtypes';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS } from '../support/backends.js';
import { openBrowser, screenshot, seriousViolations, type Browser } from './browser.js';
import { fhirCall, seedUnit, type SeededUnit } from './seed.js';
import { startWebServer, type WebServer } from './server.js';

/**
 * Issue 18: the registry page (the month's NPR report with its problems, each leading to the pathway
 * to fix) and the indicators page (the shipped Measures as a trend with the target line, each point
 * opening its pathways), over the demo journeys and a seeded unit.
 */
describe('the registry and indicator pages, in headless Chromium', () => {
  let s: WebServer;
  let b: Browser;
  let page: Page;
  let unit: SeededUnit;
  let nameless: string;

  beforeAll(async () => {
    s = await startWebServer(BACKENDS[0], { now: '2026-11-20T09:00:00Z', examples: true });
    unit = await seedUnit(s.base, '2026-11-20', 6, 3);
    // a patient without a person number: NPR cannot take the codes of their pathway (9329 code 100)
    await fhirCall(s.base, 'PUT', 'Patient/uten-id', {
      resourceType: 'Patient',
      id: 'uten-id',
      name: [{ family: 'Ukjent', given: ['Ola'] }],
    });
    const q = new URLSearchParams({
      subject: 'Patient/uten-id',
      start: '2026-11-02',
      organization: unit.unit,
      practitioner: unit.coordinators[0],
    });
    nameless = (await fhirCall<{ id: string }>(s.base, 'POST', `PlanDefinition/pathway-D11/$apply?${q}`)).id;
    b = await openBrowser();
    page = await b.context.newPage();
  }, 180_000);
  afterAll(async () => {
    await b?.close();
    await s?.close();
  });

  it("runs the unit's month report and lists its problems with NPR's code, each leading to the pathway", async () => {
    await page.goto(`${s.origin}/app/register`);
    await page.selectOption('#r-unit', unit.unit);
    await page.selectOption('#r-period', '2026-11');
    await page.locator('#ikke-kjort').waitFor(); // not made yet for this unit and month
    await page.click('#kjor');
    await page.locator('#rapport').waitFor();
    const problems = page.locator('#problemer tbody tr');
    expect(await problems.count()).toBeGreaterThan(0);
    const row = page.locator('#problemer tbody tr[data-npr="100"]').first();
    expect(await row.textContent()).toContain('NPR 100: Ident-melding ikke mottatt');
    expect(await page.textContent('#rapport-tall')).toMatch(/^\d+ prosedyrekoder i rapporten · \d+ problemer$/);
    await screenshot(page, 'registry');
    expect(await seriousViolations(page)).toEqual([]);
    // re-run on demand: the same answer
    await page.click('#kjor');
    await page.locator('#rapport').waitFor();
    expect(await page.locator('#problemer tbody tr').count()).toBe(await problems.count());
    // the stored report is shown when the page is opened again, without running it
    const count = await problems.count();
    await page.goto(`${s.origin}/app/register?enhet=${unit.unit}&periode=2026-11`);
    await page.locator('#rapport').waitFor();
    expect(await problems.count()).toBe(count);
    await row.getByRole('link', { name: 'Rett opp i forløpet' }).click();
    await page.locator('#tidslinje').waitFor();
    expect(new URL(page.url()).pathname).toBe(`/app/forlop/${nameless}`);
  });

  it('draws an indicator as a 12-month trend equal to the API, with the 80 % target; a point opens its pathways', async () => {
    const measure = 'assessment-within-pathway-time';
    await page.goto(`${s.origin}/app/indikatorer?indikator=${measure}`);
    await page.locator('#trend-tabell').waitFor();
    expect(await page.locator('#mal').count()).toBe(1);
    expect(await page.textContent('#indikator figcaption')).toBe('Målet er 80 %.');
    const api = await fhirCall<MeasureReport>(
      s.base,
      'GET',
      `Measure/${measure}/$evaluate-measure?periodStart=2025-12&periodEnd=2026-11&reportType=subject-list`,
    );
    const months = api.group?.[0]?.stratifier?.find((x) => x.code?.[0]?.text === 'month' && x.code.length === 1);
    const scored = (months?.stratum ?? []).filter((x) => x.measureScore?.value !== undefined);
    expect(scored.length).toBeGreaterThan(2);
    for (const st of scored) {
      const cell = page.locator(`#trend-tabell tr[data-period="${st.value?.text}"] td:nth-child(4)`);
      expect(await cell.textContent()).toBe(`${Math.round((st.measureScore?.value as number) * 100)} %`);
    }
    expect(await page.locator('#trend a.punkt').count()).toBe(scored.length);
    await screenshot(page, 'indicators');
    expect(await seriousViolations(page)).toEqual([]);

    const march = scored.find((x) => x.value?.text === '2026-03') ?? scored[0];
    const den = march.population?.find((p) => p.code?.coding?.[0]?.code === 'denominator');
    const list = api.contained?.find((c) => c.id === den?.subjectResults?.reference?.slice(1)) as List;
    await page.locator(`#trend a.punkt[data-period="${march.value?.text}"]`).click();
    await page.locator('#punkt-liste').waitFor();
    const shown = await page
      .locator('#punkt-liste li')
      .evaluateAll((lis) => lis.map((li) => li.getAttribute('data-careplan')));
    expect(shown.sort()).toEqual(list.entry?.map((e) => e.item.reference?.replace('CarePlan/', '')).sort());

    // one unit and one pathway, by tertial: every pathway behind a point is of that pathway
    await page.selectOption('#i-unit', 'Organization/eksempel-hf');
    await page.locator('#trend-tabell').waitFor();
    await page.selectOption('#i-pathway', 'D11');
    await page.selectOption('#i-span', 'tertial');
    await page.locator('#trend-tabell tr[data-period="2026-T1"]').waitFor();
    const first = page.locator('#trend a.punkt').first();
    await first.click();
    await page.locator('#punkt-liste').waitFor();
    const texts = await page.locator('#punkt-liste li').allTextContents();
    expect(texts.length).toBeGreaterThan(0);
    for (const text of texts) expect(text).toContain(' – D11 – ');
    expect(page.url()).toContain('enhet=Organization/eksempel-hf');
  });
});
