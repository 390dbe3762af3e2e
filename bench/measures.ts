import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Bundle, CarePlan, Measure, MeasureReport, Task } from '@medplum/fhirtypes';
import { SqliteStorage } from '../src/storage/sqlite.js';
import { paramId } from '../src/fhir/search/param-id.js';
import { loadMeasures } from '../src/measures/loader.js';
import { addCalendarDays } from '../src/pathways/calendar.js';
import { startInProcess, type InProcess } from '../test/support/in-process.js';
import { table } from './harness.js';
import { copyPathways, seedPatients, timeApply, TODAY } from './pathways.js';

/**
 * Issue 17's figure: `$evaluate-measure` over N pathways (embedded SQLite, in one process, over HTTP):
 * N pathways of one unit — 1,000 through `$apply`, those started three weeks or more before "today"
 * given a first attendance and a clinical decision through PUT Task, the rest copies (as in the
 * pathway benchmark) — and the assessment indicator evaluated for the year: as a summary, as a
 * subject-list (a contained List per population and stratum), and for the unit. Figures are pathways
 * evaluated per second. The reference in the same run: reading the same rows (every CarePlan and its
 * completed Tasks) from the database into JavaScript, without parsing them.
 */
const MEASURE = 'assessment-within-pathway-time';
const ACTION = 'http://forlop.no/fhir/NamingSystem/pathway-action';
const JSON_TYPE = 'application/fhir+json';

async function json<T>(res: Response, what: string): Promise<T> {
  if (res.status >= 300) throw new Error(`${what}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

/** One milestone of an applied pathway completed on a date (PUT Task), with an outcome when it has one. */
async function complete(base: string, carePlan: string, action: string, date: string, outcome?: [string, string]) {
  const found = await json<Bundle>(
    await fetch(`${base}/Task?identifier=${encodeURIComponent(`${ACTION}|${carePlan}/${action}`)}`),
    'Task search',
  );
  const task = found.entry?.[0]?.resource as Task;
  const output = outcome
    ? [
        {
          type: { text: 'Utfall' },
          valueCodeableConcept: { coding: [{ system: `urn:oid:2.16.578.1.12.4.1.1.${outcome[0]}`, code: outcome[1] }] },
        },
      ]
    : undefined;
  const body = {
    ...task,
    status: 'completed',
    executionPeriod: { start: date, end: date },
    ...(output ? { output } : {}),
  };
  await json(
    await fetch(`${base}/Task/${task.id}`, {
      method: 'PUT',
      headers: { 'Content-Type': JSON_TYPE },
      body: JSON.stringify(body),
    }),
    'PUT Task',
  );
}

/** M three days after the start, C twenty days after, for the applied pathways old enough; 8 in flight. */
async function decide(base: string): Promise<number> {
  const all = await json<Bundle>(await fetch(`${base}/CarePlan?_count=1000&_elements=period`), 'CarePlan search');
  const old = (all.entry ?? [])
    .map((e) => e.resource as CarePlan)
    .filter((c) => (c.period?.start as string) <= addCalendarDays(TODAY, -21));
  let next = 0;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      for (let i = next++; i < old.length; i = next++) {
        const start = old[i].period?.start as string;
        await complete(base, old[i].id as string, 'first-attendance', addCalendarDays(start, 3));
        await complete(base, old[i].id as string, 'clinical-decision', addCalendarDays(start, 20), ['9323', 'P']);
      }
    }),
  );
  return old.length;
}

/**
 * A request that opens the connection the timed one uses: after a long pause (the seeding) the server
 * has closed the idle keep-alive socket, and the first request on it may meet ECONNRESET.
 */
async function warmUp(base: string): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      await (await fetch(`${base}/metadata`)).arrayBuffer();
      return;
    } catch (err) {
      if (attempt > 0 || (err as { cause?: { code?: string } }).cause?.code !== 'ECONNRESET') throw err;
    }
  }
}

/** One evaluation over HTTP: seconds, and the report's initial population. */
async function timeEvaluation(
  base: string,
  query: string,
  measure = MEASURE,
): Promise<{ seconds: number; ip: number; bytes: number }> {
  await warmUp(base);
  const t0 = performance.now();
  const res = await fetch(`${base}/Measure/${measure}/$evaluate-measure?periodStart=2026&periodEnd=2026${query}`);
  const text = await res.text();
  const seconds = (performance.now() - t0) / 1000;
  if (res.status !== 200) throw new Error(`$evaluate-measure: ${res.status} ${text.slice(0, 500)}`);
  const report = JSON.parse(text) as MeasureReport;
  const ip = report.group?.[0]?.population?.find((p) => p.code?.coding?.[0]?.code === 'initial-population')?.count ?? 0;
  return { seconds, ip, bytes: text.length };
}

/**
 * The shipped indicator with fewer stratifiers (by their position in it), stored as its own Measure
 * `bench-strata-k`: the issue's goal is a report with three stratifiers within twice the unstratified time.
 */
const VARIANTS: [id: string, stratifiers: number[]][] = [
  ['bench-strata-0', []],
  ['bench-strata-1', [0]],
  // unit, pathway and month
  ['bench-strata-3', [0, 1, 3]],
];

async function storeVariants(base: string): Promise<void> {
  await warmUp(base);
  const shipped = await json<Measure>(await fetch(`${base}/Measure/${MEASURE}`), 'GET Measure');
  for (const [id, keep] of VARIANTS) {
    const { meta: _meta, ...rest } = shipped;
    const variant: Measure = {
      ...rest,
      id,
      url: `http://forlop.no/fhir/Measure/${id}`,
      name: `BenchStrata${keep.length}`,
      group: shipped.group?.map(({ stratifier, ...g }) => {
        const kept = keep.map((k) => stratifier?.[k]).filter((x) => !!x);
        // R4 refuses an empty list: no stratifier is no element
        return kept.length ? { ...g, stratifier: kept } : g;
      }),
    };
    await json(
      await fetch(`${base}/Measure/${id}`, {
        method: 'PUT',
        headers: { 'Content-Type': JSON_TYPE },
        body: JSON.stringify(variant),
      }),
      'PUT Measure',
    );
  }
}

/** N pathways of one unit: 1,000 applied (those old enough decided), the rest copies. The applied decided. */
async function seed(running: InProcess, n: number, applyCount: number): Promise<number> {
  const applied = Math.min(n, applyCount);
  await seedPatients(running.url, applied);
  await timeApply(running.url, applied);
  const decided = await decide(running.url);
  await copyPathways(running.built.services, n - applied);
  return decided;
}

/** What the evaluation reads, raw: every CarePlan, and the completed Tasks (the criteria read only %done). */
async function timeRawRead(running: InProcess): Promise<{ seconds: number; rows: number }> {
  const t0 = performance.now();
  const read = await running.storage.all<{ content: string }>(
    `SELECT content FROM resources WHERE type = 'CarePlan' AND deleted = 0
     UNION ALL
     SELECT r.content FROM resources r JOIN sp_token t ON t.rid = r.rid AND t.param = ? AND t.code = 'completed'
      WHERE r.type = 'Task' AND r.deleted = 0`,
    [paramId('Task', 'status')],
  );
  return { seconds: (performance.now() - t0) / 1000, rows: read.length };
}

/** One patient's report (a decided pathway's patient): the median of five, in milliseconds. */
async function timeOneSubject(running: InProcess): Promise<number> {
  const row = await running.storage.get<{ content: string }>(
    `SELECT r.content FROM resources r JOIN sp_token t ON t.rid = r.rid AND t.param = ? AND t.code = 'completed'
      WHERE r.type = 'Task' AND r.deleted = 0 AND r.content LIKE '%"code":"C"%' LIMIT 1`,
    [paramId('Task', 'status')],
  );
  const task = JSON.parse(row?.content ?? '{}') as Task;
  const carePlan = task.basedOn?.[0]?.reference ?? '';
  const plan = await json<CarePlan>(await fetch(`${running.url}/${carePlan}`), 'GET CarePlan');
  const times: number[] = [];
  for (let i = 0; i < 5; i++) {
    const r = await timeEvaluation(running.url, `&subject=${plan.subject?.reference ?? ''}`);
    if (r.ip < 1) throw new Error(`the subject's report counts no pathway: ${plan.subject?.reference}`);
    times.push(r.seconds * 1000);
  }
  return times.sort((a, b) => a - b)[2];
}

/** Each figure is the median of three runs (the machine is shared and noisy). */
async function median<T extends { seconds: number }>(run: () => Promise<T>): Promise<T> {
  const runs: T[] = [];
  for (let i = 0; i < 3; i++) runs.push(await run());
  return runs.sort((a, b) => a.seconds - b.seconds)[1];
}

/** `--measure-db dir`: keep the seeded database there (seeding 100,000 pathways takes long) and reuse it. */
function keptDb(keepIn: string | undefined, n: number): string | undefined {
  const i = process.argv.indexOf('--measure-db');
  const dir = keepIn ?? (i >= 0 ? process.argv[i + 1] : undefined);
  return dir ? join(dir, `measures-${n}.db`) : undefined;
}

async function benchOne(n: number, applyCount: number, keepIn?: string): Promise<(string | number)[]> {
  const kept = keptDb(keepIn, n);
  const seeded = kept !== undefined && existsSync(kept);
  const running = await startInProcess(`${TODAY}T08:00:00Z`, kept ? { storage: new SqliteStorage(kept) } : {});
  const { built, storage, url: base } = running;
  try {
    await loadMeasures(built.services);
    const decided = seeded ? (JSON.parse(readFileSync(`${kept}.json`, 'utf8')) as { decided: number }).decided : 0;
    const newly = seeded ? decided : await seed(running, n, applyCount);
    if (kept && !seeded) writeFileSync(`${kept}.json`, JSON.stringify({ decided: newly }));
    await storeVariants(base);
    const pathways =
      (await storage.get<{ n: number }>(`SELECT COUNT(*) AS n FROM resources WHERE type = 'CarePlan' AND deleted = 0`))
        ?.n ?? 0;
    const perSecond = (s: number) => Math.round(pathways / s).toLocaleString('en');
    const cell = (r: { seconds: number; bytes: number }) =>
      `${r.seconds.toFixed(2)} s, ${perSecond(r.seconds)}/s (${(r.bytes / 1e6).toFixed(1)} MB)`;
    // the first evaluation in the process also starts the evaluation worker and warms the caches
    const cold = await timeEvaluation(base, '');
    const cells: string[] = [];
    for (const [id] of VARIANTS) cells.push(cell(await median(() => timeEvaluation(base, '', id))));
    let ip = 0;
    for (const query of ['', '&reportType=subject-list', '&subject=Organization/bench-hf']) {
      const r = await median(() => timeEvaluation(base, query));
      ip = r.ip;
      cells.push(cell(r));
    }
    const subjectMs = await timeOneSubject(running);
    const raw = await median(() => timeRawRead(running));
    return [
      pathways,
      `${newly} × copies: ${ip}`,
      cell(cold),
      ...cells,
      `${subjectMs.toFixed(0)} ms`,
      `${raw.seconds.toFixed(2)} s, ${perSecond(raw.seconds)}/s (${raw.rows} rows)`,
    ];
  } finally {
    await running.close();
    if (kept) await storage.close();
  }
}

export async function measuresBench(sizes: number[], applyCount = 1000, keepIn?: string): Promise<string> {
  const rows: (string | number)[][] = [];
  for (const n of sizes) rows.push(await benchOne(n, applyCount, keepIn));
  return [
    '### Quality indicators (embedded SQLite, in one process, over HTTP; one unit, N pathways, the year 2026)',
    '',
    `\`GET Measure/${MEASURE}/$evaluate-measure\` over every pathway of the year (all N overlap it): ` +
      "each pathway's CarePlan and Tasks read in batches over one snapshot, the Measure's FHIRPath variables, " +
      'populations and six stratifiers run on it ("summary"; the same Measure with 0, 1 and 3 of its ' +
      'stratifiers — unit; unit, pathway and month — stored as its own Measure). Pathways per second = N / ' +
      'seconds. "initial population": the pathways with a clinical decision in the year (those decided ' +
      'through the API, and their copies). Each figure is the median of three runs, after a first (cold) ' +
      'summary that also starts the evaluation worker. "one patient": `subject=Patient/…`, the median of five. The ' +
      'reference reads the same rows (every CarePlan and its completed Tasks: the criteria read only %done) ' +
      'from the database into JavaScript, without parsing them.',
    '',
    table(
      [
        'N pathways',
        'decided: initial population',
        'first summary in the process (cold)',
        'no stratifier',
        '1 stratifier',
        '3 stratifiers',
        'summary (6)',
        'subject-list (6)',
        'subject = the unit (6)',
        'one patient',
        'reference: read the rows',
      ],
      rows,
    ),
  ].join('\n');
}
