import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { getHeapStatistics } from 'node:v8';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parsePeriod } from '../src/registry/period.js';
import type { Services } from '../src/fhir/services.js';
import { runRegistryReport } from '../src/registry/run.js';
import { SqliteStorage } from '../src/storage/sqlite.js';
import { table } from './harness.js';
import { copyPathways, seedPatients, timeApply, TODAY } from './pathways.js';
import { startInProcess } from '../test/support/in-process.js';

/**
 * Issue 7's figure: the registry report's build time at N episodes (embedded SQLite, in process): N
 * pathways of one unit (1,000 through `$apply`, the rest copies, as in the pathway benchmark), the
 * year's report built, validated, stored and written to the outbox; then the same run again (nothing
 * changed). Memory: the process's peak anonymous resident memory above what it was before the run
 * (the snapshot reads the database memory-mapped, which RSS would count), and the main thread's heap.
 * Reference: reading every pathway Task row once.
 */
/**
 * The reports of earlier runs on a kept database, deleted (as a client would), so the timed run is a first run: every
 * page new.
 */
async function deleteReports(svc: Services): Promise<void> {
  const ids = await svc.store.storage.all<{ type: string; id: string }>(
    `SELECT type, id FROM resources WHERE type IN ('Bundle', 'OperationOutcome') AND deleted = 0 AND id LIKE 'npr-%'`,
  );
  await svc.store.transaction(async (tx) => {
    for (const { type, id } of ids)
      await svc.store.write(tx, type, id, await svc.store.current(type, id, tx), null, 'DELETE');
  });
}

/** Anonymous resident memory (Linux RssAnon): what the process holds, without mapped files; RSS elsewhere. */
function anonymousMemory(): number {
  try {
    return Number(/RssAnon:\s+(\d+)\s+kB/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1]) * 1024;
  } catch {
    return process.memoryUsage().rss;
  }
}

export async function registryBench(sizes: number[], applyCount = 1000, keepIn?: string): Promise<string> {
  const rows: (string | number)[][] = [];
  for (const n of sizes) {
    const dir = mkdtempSync(join(tmpdir(), 'forlop-bench-registry-'));
    // seeding 100,000 pathways takes a quarter of an hour: --registry-db keeps the seeded database for the next run
    const kept = keepIn ? join(keepIn, `registry-${n}.db`) : undefined;
    const seeded = kept !== undefined && existsSync(kept);
    const running = await startInProcess(`${TODAY}T08:00:00Z`, kept ? { storage: new SqliteStorage(kept) } : {});
    const { built, storage, url: base } = running;
    try {
      if (!seeded) {
        const applied = Math.min(n, applyCount);
        await seedPatients(base, applied);
        await timeApply(base, applied);
        await copyPathways(built.services, n - applied);
      }
      await deleteReports(built.services);
      const anonBefore = anonymousMemory();
      let peak = anonBefore;
      let heap = 0;
      const sampler = setInterval(() => {
        peak = Math.max(peak, anonymousMemory());
        heap = Math.max(heap, process.memoryUsage().heapUsed);
      }, 50);
      const t1 = performance.now();
      const first = await runRegistryReport(built.services, {
        period: parsePeriod('2026'),
        unit: 'bench-hf',
        outbox: join(dir, 'outbox'),
      });
      const firstSeconds = (performance.now() - t1) / 1000;
      const t2 = performance.now();
      const again = await runRegistryReport(built.services, { period: parsePeriod('2026'), unit: 'bench-hf' });
      const againSeconds = (performance.now() - t2) / 1000;
      clearInterval(sampler);
      // the reference after the runs: its rows would otherwise inflate the memory baseline
      const t0 = performance.now();
      // every Task row read by SQLite itself (LENGTH reads the whole text), nothing held in JavaScript
      await storage.get(`SELECT SUM(LENGTH(content)) AS n FROM resources WHERE type = 'Task'`);
      const readSeconds = (performance.now() - t0) / 1000;
      const size = statSync(join(dir, 'outbox', `${first.firstPage.id}.json`)).size;
      rows.push([
        n,
        first.counts.episodes,
        first.counts.codes,
        first.pages.length,
        firstSeconds.toFixed(1),
        `${again.changed ? 'changed' : 'unchanged'}, ${againSeconds.toFixed(1)} s`,
        `${Math.round((peak - anonBefore) / 1e6)} MB`,
        `${Math.round(heap / 1e6)} MB`,
        `${(size / 1e6).toFixed(1)} MB`,
        readSeconds.toFixed(1),
      ]);
    } finally {
      await running.close();
      if (kept) await storage.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }
  return [
    '### Registry report (embedded SQLite, in process; one unit, N episodes, the year 2026)',
    '',
    `Build (over a snapshot), check, validate against the profile (pages in a worker thread), store (one transaction) and write JSON + NDJSON; then the same run again. Memory: the process's peak anonymous resident memory (RssAnon: both threads' heaps, SQLite caches, buffers; not the memory-mapped database file) above the start of the run, and the main thread's peak V8 heap; V8 heap limit per thread ${Math.round(getHeapStatistics().heap_size_limit / 1e6)} MB.`,
    '',
    table(
      [
        'N',
        'episodes',
        'codes',
        'pages',
        'run s',
        'again',
        'peak memory above start',
        'main heap peak',
        'JSON file',
        'reference: SQLite reads every Task row, s',
      ],
      rows,
    ),
  ].join('\n');
}
