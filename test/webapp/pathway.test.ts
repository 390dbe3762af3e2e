import type { Bundle, Task } from '@medplum/fhirtypes';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS } from '../support/backends.js';
import { openBrowser, screenshot, seriousViolations, type Browser } from './browser.js';
import { deadlines, norwegian } from './expected.js';
import { fhirCall, seedUnit, type SeededUnit } from './seed.js';
import { startWebServer, type WebServer } from './server.js';

/**
 * Issue 18: the pathway page shows what `$deadlines` computes — for every demo journey and a seeded
 * unit — and records a milestone as the coordinator does: refused with NPR's rule beside the field,
 * then accepted.
 */
describe('the pathway page, in headless Chromium', () => {
  let s: WebServer;
  let b: Browser;
  let page: Page;
  let unit: SeededUnit;
  let demo: string[];

  beforeAll(async () => {
    s = await startWebServer(BACKENDS[0], { now: '2026-11-20T09:00:00Z', examples: true });
    unit = await seedUnit(s.base, '2026-11-20', 12, 1);
    await fhirCall(s.base, 'POST', '$evaluate-deadlines', { resourceType: 'Parameters' });
    const plans = await fhirCall<Bundle>(s.base, 'GET', 'CarePlan?status=completed&_count=100&_elements=id');
    demo = (plans.entry ?? []).map((e) => e.resource?.id as string);
    b = await openBrowser();
    page = await b.context.newPage();
  }, 180_000);
  afterAll(async () => {
    await b?.close();
    await s?.close();
  });

  const open = async (carePlan: string) => {
    await page.goto(`${s.origin}/app/forlop/${carePlan}`);
    await page.locator('#tidslinje').waitFor();
  };

  it('the timeline equals $deadlines for every demo journey and every seeded pathway', async () => {
    expect(demo.length).toBeGreaterThanOrEqual(9);
    for (const carePlan of [...demo, ...unit.carePlans]) {
      await open(carePlan);
      const api = await deadlines(s.base, carePlan);
      const shown = await page.locator('#tidslinje > li').evaluateAll((lis) =>
        lis.map((li) => ({
          task: li.getAttribute('data-task'),
          status: li.getAttribute('data-status'),
          due: li.getAttribute('data-due') || undefined,
          actual: li.getAttribute('data-actual') || undefined,
          elapsed: li.getAttribute('data-elapsed'),
          text: li.textContent ?? '',
        })),
      );
      expect(
        shown.map(({ text: _t, ...m }) => m),
        carePlan,
      ).toEqual(api.milestones);
      for (const [i, m] of api.milestones.entries()) {
        if (m.due) expect(shown[i].text).toContain(`Frist ${norwegian(m.due)}`);
        // done on a day, or a postponement over a period ending on that day
        if (m.actual)
          expect(shown[i].text).toMatch(new RegExp(`(Utført |Utsatt \\d\\d\\.\\d\\d\\.\\d{4}–)${norwegian(m.actual)}`));
      }
    }
  }, 180_000); // many pages and API reads: generous under a full parallel test run

  it("shows the patient's postponement over the period it lasted", async () => {
    await open('d07-ocd-postponed-d07-careplan');
    const item = page.locator('#tidslinje > li[data-task="Task/d07-ocd-postponed-d07-patient-postponed"]');
    expect(await item.getAttribute('class')).toBe('t-postponed');
    expect(await item.textContent()).toContain('Utsatt 20.02.2026–06.03.2026');
  });

  it('shows the care team, the own description, the breaches and the flow chart', async () => {
    await open('d11-adults-d11-careplan');
    expect(await page.textContent('#team')).toContain('Forløpskoordinator');
    expect(await page.textContent('#egen-beskrivelse')).toContain('nedstemt og engstelig');
    expect(await page.locator('#flytskjema rect').count()).toBeGreaterThan(5);
    expect(await page.textContent('figure')).toContain('kalenderdager');
    await screenshot(page, 'pathway-demo');
    expect(await seriousViolations(page)).toEqual([]);
    await open('d08-eating-disorders-breach-d08-careplan');
    const breaches = await fhirCall<Bundle>(
      s.base,
      'GET',
      'DetectedIssue?implicated=CarePlan/d08-eating-disorders-breach-d08-careplan&status=final',
    );
    expect(await page.locator('#brudd li').count()).toBe(breaches.entry?.length ?? 0);
  });

  it('records a milestone: NPR 201 beside the outcome without one, then stored with one', async () => {
    // the fourth seeded pathway started three weeks ago, its first attendance recorded: the clinical decision is next
    const carePlan = unit.carePlans[3];
    const found = await fhirCall<Bundle<Task>>(
      s.base,
      'GET',
      `Task?based-on=CarePlan/${carePlan}&code=urn:oid:2.16.578.1.12.4.1.1.9322|C`,
    );
    const task = found.entry?.[0]?.resource as Task;
    expect(task.status).toBe('requested');
    await open(carePlan);
    const form = page.locator(`form[data-task="${task.id}"]`);
    await form.getByLabel('Dato').fill('20.11.2026');
    await form.getByRole('button', { name: 'Registrer' }).click();
    const error = page.locator(`#feil-utfall-${task.id}`);
    await error.waitFor();
    expect(await error.textContent()).toMatch(/^NPR 201: /);
    expect(await form.locator('select').getAttribute('aria-describedby')).toBe(`feil-utfall-${task.id}`);
    expect((await fhirCall<Task>(s.base, 'GET', `Task/${task.id}`)).status).toBe('requested');
    await screenshot(page, 'pathway-npr-refusal');
    expect(await seriousViolations(page)).toEqual([]);

    await form.locator('select').selectOption({ index: 1 });
    await form.getByRole('button', { name: 'Registrer' }).click();
    await page.locator(`#tidslinje > li[data-task="Task/${task.id}"][data-actual="2026-11-20"]`).waitFor();
    const stored = await fhirCall<Task>(s.base, 'GET', `Task/${task.id}`);
    expect(stored.status).toBe('completed');
    expect(stored.executionPeriod?.end).toBe('2026-11-20');
    expect(stored.output?.[0]?.valueCodeableConcept?.coding?.[0]?.code).toBeTruthy();
    expect(await page.locator(`form[data-task="${task.id}"]`).count()).toBe(0);
    await screenshot(page, 'pathway-recorded');
  });

  it('a date after today is refused beside the date field', async () => {
    const carePlan = unit.carePlans[1];
    const found = await fhirCall<Bundle<Task>>(
      s.base,
      'GET',
      `Task?based-on=CarePlan/${carePlan}&code=urn:oid:2.16.578.1.12.4.1.1.9322|M`,
    );
    const task = found.entry?.[0]?.resource as Task;
    await open(carePlan);
    const form = page.locator(`form[data-task="${task.id}"]`);
    await form.getByLabel('Dato').fill('31.11.2026');
    await form.getByRole('button', { name: 'Registrer' }).click();
    expect(await page.textContent(`#feil-dato-${task.id}`)).toContain('Skriv datoen som dd.mm.åååå');
    await form.getByLabel('Dato').fill('24.12.2026');
    await form.getByRole('button', { name: 'Registrer' }).click();
    const error = page.locator(`#feil-dato-${task.id}`);
    await error.waitFor();
    expect(await error.textContent()).toContain('after today');
  });
});
