import { loadConfig } from '../config.js';
import { createServices } from '../fhir/create-services.js';
import { loadPathways } from '../pathways/loader.js';
import { parsePeriod } from '../registry/period.js';
import { reportingUnits, runRegistryReport } from '../registry/run.js';
import { openStorage } from '../storage/open.js';
import { loadTerminology } from '../terminology/loader.js';

const USAGE = 'Usage: forlop registry-report --period 2026-10|2026-T1|2026 [--unit <Organization id>] [--out <file>]\n';

/**
 * `forlop registry-report --period 2026-10 [--unit id] [--out file]`: the same run as the schedule and
 * `$registry-report`, on the database of DATABASE_URL (safe beside running servers: the lease in the database
 * keeps runs apart), for one unit or every unit with pathways; `--out` also writes the whole report
 * there as one Bundle (with one unit), streamed and renamed into place. Exit 0, 1 when a run failed, 2 on usage.
 */
export async function registryReportCommand(args: string[]): Promise<number> {
  const arg = (name: string) => {
    const i = args.indexOf(`--${name}`);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const label = arg('period');
  if (!label) {
    process.stderr.write(USAGE);
    return 2;
  }
  let period;
  try {
    period = parsePeriod(label);
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  const config = loadConfig();
  const storage = await openStorage(config.databaseUrl);
  try {
    const svc = createServices({ storage, baseUrl: config.baseUrl, registryOutbox: config.registryOutbox || undefined, registryPageSize: config.registryPageSize });
    await svc.ready;
    await loadTerminology(svc);
    await loadPathways(svc);
    const units = arg('unit') ? [arg('unit') as string] : await reportingUnits(svc);
    const out = arg('out');
    if (out && units.length !== 1) {
      process.stderr.write(`--out needs one unit (--unit); there are ${units.length}\n`);
      return 2;
    }
    let failed = 0;
    for (const unit of units) {
      try {
        const r = await runRegistryReport(svc, { period, unit, outbox: svc.registryOutbox, out });
        const pages = r.pages.length > 1 ? ` (${r.pages.length} pages)` : '';
        process.stdout.write(`${period.label} ${unit}: ${r.counts.codes} codes in ${r.counts.episodes} episodes, ${r.counts.problems} with problems${r.changed ? '' : ' (unchanged)'} → Bundle/${r.firstPage.id}${pages}${r.files.map((f) => `, ${f}`).join('')}\n`);
      } catch (err) {
        failed++;
        process.stderr.write(`${period.label} ${unit}: failed: ${(err as Error).message}\n`);
      }
    }
    return failed ? 1 : 0;
  } finally {
    await storage.close();
  }
}
