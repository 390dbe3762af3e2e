import { loadConfig } from '../config.js';
import { FhirError } from '../fhir/errors.js';
import { createServices } from '../app/services.js';
import { loadPathways } from '../pathways/loader.js';
import { parsePeriod } from '../registry/period.js';
import { reportingUnits, runRegistryReport, type RunResult } from '../registry/run.js';
import { resolveUnit } from '../registry/unit.js';
import type { Services } from '../fhir/services.js';
import { openStorage } from '../storage/open.js';
import { loadTerminology } from '../terminology/loader.js';

const USAGE = [
  'Usage: forlop registry-report --period 2026-10|2026-T1|2026 [--unit <unit>] [--out <file>]',
  '  <unit>: Organization/[id], an id, an organisasjonsnummer or RESH id, or system|value',
  '',
].join('\n');

/**
 * `forlop registry-report --period 2026-10 [--unit unit] [--out file]`: the same run as the schedule and
 * `$registry-report`, on the database of DATABASE_URL (safe beside running servers: the lease in the database
 * keeps runs apart), for one unit (named as `$registry-report` takes it) or every unit with pathways;
 * `--out` also writes the whole report there as one Bundle (with one unit), streamed and renamed into
 * place. The report's URLs use the server's BASE_URL (the same `loadConfig` as `forlop serve`), so a
 * run here and a later run over HTTP on the same data make the same report, and the second stores
 * nothing. Exit 0, 1 when a run failed, 2 on usage or a unit that names no single Organization.
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
    const svc = createServices({
      storage,
      baseUrl: config.baseUrl,
      registryOutbox: config.registryOutbox || undefined,
      registryPageSize: config.registryPageSize,
    });
    await svc.ready;
    await loadTerminology(svc);
    await loadPathways(svc);
    const units = await unitsOf(svc, arg('unit'));
    if (!units) return 2;
    const out = arg('out');
    if (out && units.length !== 1) {
      process.stderr.write(`--out needs one unit (--unit); there are ${units.length}\n`);
      return 2;
    }
    let failed = 0;
    for (const unit of units) {
      try {
        const r = await runRegistryReport(svc, { period, unit, outbox: svc.registryOutbox, out });
        process.stdout.write(`${period.label} ${unit}: ${summary(r)}\n`);
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

/** One line on a run: its counts, whether it changed the stored report, where the report is. */
function summary(r: RunResult): string {
  const pages = r.pages.length > 1 ? ` (${r.pages.length} pages)` : '';
  const counts = `${r.counts.codes} codes in ${r.counts.episodes} episodes, ${r.counts.problems} with problems`;
  const files = r.files.map((f) => `, ${f}`).join('');
  return `${counts}${r.changed ? '' : ' (unchanged)'} → Bundle/${r.firstPage.id}${pages}${files}`;
}

/** The unit asked for (resolved as `$registry-report` resolves it), or every unit with pathways; undefined: neither. */
async function unitsOf(svc: Services, unit: string | undefined): Promise<string[] | undefined> {
  if (unit === undefined) return reportingUnits(svc);
  try {
    return [await resolveUnit(svc, unit)];
  } catch (err) {
    if (!(err instanceof FhirError)) throw err;
    process.stderr.write(`${err.message}\n${USAGE}`);
    return undefined;
  }
}
