import type { Resource } from '@medplum/fhirtypes';
import { newId } from '../src/fhir/ids.js';
import type { Services } from '../src/fhir/services.js';
import { addCalendarDays } from '../src/pathways/calendar.js';
import { startInProcess } from '../test/support/in-process.js';
import { openBrowser } from '../test/webapp/browser.js';
import { table } from './harness.js';
import { seedPatients } from './pathways.js';

/**
 * Issue 18's figures: the web app over a unit of N open pathways (embedded SQLite, server in this
 * process, headless Chromium from Debian). `applyCount` pathways are applied over HTTP (8 in flight,
 * start dates over 60 days, a coordinator each); the rest are copies of them (CarePlan, CareTeam,
 * EpisodeOfCare, Patient, Tasks: new ids) written straight to the store — seeding only.
 *
 * Timed, `rounds` times each (a fresh page load every time):
 * - first load: navigation to a page with no data until its script has run (shell, script, styles);
 * - the worklist: navigation until its table is drawn (every open pathway read through the FHIR API);
 * - a pathway page: navigation until its timeline is drawn;
 * - from the server: the same FHIR requests the page made (recorded from the browser), replayed
 *   one after the other from Node without a browser: the API's share of the page's time.
 */
const TODAY = '2026-11-20';
const PATHWAYS = ['D11', 'D07', 'D06', 'D12'];

async function put(base: string, path: string, body: unknown): Promise<void> {
  const res = await fetch(`${base}/${path}`, {
    method: 'PUT',
    headers: { 'Content-Type': 'application/fhir+json' },
    body: JSON.stringify(body),
  });
  if (res.status >= 300) throw new Error(`${path}: ${res.status} ${await res.text()}`);
}

async function applyAll(base: string, n: number): Promise<void> {
  await put(base, 'Organization/bench-hf', { resourceType: 'Organization', id: 'bench-hf', name: 'Bench HF' });
  const koord = { resourceType: 'Practitioner', id: 'bench-koord', name: [{ family: 'Koordinator', given: ['Kari'] }] };
  await put(base, 'Practitioner/bench-koord', koord);
  let next = 0;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      for (let i = next++; i < n; i = next++) {
        const start = addCalendarDays(TODAY, -(i % 60));
        const subject = `Patient/bench-patient-${String(i).padStart(7, '0')}`;
        const q = `subject=${subject}&start=${start}&organization=Organization/bench-hf&practitioner=Practitioner/bench-koord`;
        const code = PATHWAYS[i % PATHWAYS.length] === 'D12' ? 'D11' : PATHWAYS[i % PATHWAYS.length];
        const res = await fetch(`${base}/PlanDefinition/pathway-${code}/$apply?${q}`, { method: 'POST' });
        if (res.status !== 200) throw new Error(`$apply: ${res.status} ${await res.text()}`);
        await res.arrayBuffer();
      }
    }),
  );
}

/** Copies the applied pathways with their CareTeams until `count` more exist (ids replaced as text). */
async function copyPathways(svc: Services, count: number): Promise<void> {
  if (count <= 0) return;
  const plans = await svc.store.storage.all<{ id: string; content: string }>(
    `SELECT id, content FROM resources WHERE type = 'CarePlan' AND deleted = 0`,
  );
  const sets: Resource[][] = [];
  for (const plan of plans) {
    const cp = JSON.parse(plan.content) as Resource & {
      subject: { reference: string };
      careTeam?: { reference?: string }[];
      supportingInfo?: { reference?: string }[];
    };
    const id = (r: { reference?: string } | undefined) => r?.reference?.split('/')[1] ?? '';
    const related = await svc.store.storage.all<{ content: string }>(
      `SELECT content FROM resources WHERE deleted = 0 AND ((type = 'Patient' AND id = ?) OR
       (type = 'EpisodeOfCare' AND id = ?) OR (type = 'CareTeam' AND id = ?) OR (type = 'Task' AND content LIKE ?))`,
      [id(cp.subject), id(cp.supportingInfo?.[0]), id(cp.careTeam?.[0]), `%${plan.id}%`],
    );
    sets.push([cp, ...related.map((r) => JSON.parse(r.content) as Resource)]);
  }
  for (let done = 0; done < count; done += 200) {
    await svc.store.transaction(async (tx) => {
      for (let k = done; k < Math.min(count, done + 200); k++) {
        const set = sets[k % sets.length];
        let text = JSON.stringify(set);
        for (const r of set) text = text.split(r.id as string).join(newId());
        for (const r of JSON.parse(text) as Resource[]) {
          const { meta: _meta, ...rest } = r;
          await svc.store.write(tx, r.resourceType, r.id as string, undefined, rest as Resource, 'POST');
        }
      }
    });
  }
}

const quantile = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))];
};
const ms = (xs: number[]) => [quantile(xs, 0.5).toFixed(0), quantile(xs, 0.95).toFixed(0)];

/** Loads `url` `rounds` times: the browser's time to `selector`, and the same FHIR requests replayed from Node. */
async function timePage(page: import('playwright-core').Page, url: string, selector: string, rounds: number) {
  const browser: number[] = [];
  const server: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const calls: string[] = [];
    const listen = (req: import('playwright-core').Request) => {
      if (req.url().includes('/fhir/')) calls.push(req.url());
    };
    page.on('request', listen);
    const t0 = performance.now();
    await page.goto(url);
    await page
      .locator(selector)
      .first()
      .waitFor({ timeout: 120_000 })
      .catch(async (e: unknown) => {
        throw new Error(`${url}: ${String(e)}; the page says: ${(await page.textContent('main'))?.slice(0, 500)}`);
      });
    browser.push(performance.now() - t0);
    page.off('request', listen);
    const t1 = performance.now();
    for (const c of calls) await (await fetch(c, { headers: { Accept: 'application/fhir+json' } })).arrayBuffer();
    server.push(performance.now() - t1);
  }
  return { browser, server };
}

export async function webappBench(sizes: number[], applyCount = 500, rounds = 10): Promise<string> {
  const rows: (string | number)[][] = [];
  for (const n of sizes) {
    const running = await startInProcess(`${TODAY}T08:00:00Z`);
    const b = await openBrowser({ width: 1280, height: 900 });
    try {
      const applied = Math.min(n, applyCount);
      await seedPatients(running.url, applied);
      await applyAll(running.url, applied);
      await copyPathways(running.built.services, n - applied);
      const origin = new URL(running.url).origin;
      const page = await b.context.newPage();
      const first = await timePage(page, `${origin}/app/finnes-ikke`, 'main h1', rounds);
      const list = await timePage(page, `${origin}/app/`, '#arbeidsliste tbody tr', rounds);
      const plan = await page.locator('#arbeidsliste tbody tr').first().getAttribute('data-careplan');
      const one = await timePage(page, `${origin}/app/forlop/${plan}`, '#tidslinje', rounds);
      rows.push([
        n,
        ...ms(first.browser),
        ...ms(list.browser),
        ...ms(list.server),
        ...ms(one.browser),
        ...ms(one.server),
      ]);
    } finally {
      await b.close();
      await running.close();
    }
  }
  return [
    '### Web app (embedded SQLite, server in process, headless Chromium; N open pathways in one unit)',
    '',
    `Each page loaded ${rounds} times (ms, p50/p95). "Browser": navigation until the page is drawn. "Server": the ` +
      'FHIR requests the page made, replayed one after the other from Node. First load: the shell, script and styles.',
    '',
    table(
      [
        'N',
        'first load p50',
        'p95',
        'worklist, browser p50',
        'p95',
        'worklist, server p50',
        'p95',
        'pathway page, browser p50',
        'p95',
        'pathway page, server p50',
        'p95',
      ],
      rows,
    ),
  ].join('\n');
}
