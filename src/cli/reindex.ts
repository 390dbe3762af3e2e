import cliProgress from 'cli-progress';
import { loadConfig } from '../config.js';
import { createServices } from '../app/services.js';
import { reindex } from '../fhir/search/reindex.js';
import { openStorage } from '../storage/open.js';

/**
 * `forlop reindex [--type Patient,Task]`: rebuilds search index rows in the database of DATABASE_URL
 * with a progress bar; safe while servers run on the same database.
 */
export async function reindexCommand(args: string[]): Promise<number> {
  const typeArg = args.indexOf('--type');
  const types = typeArg >= 0 ? (args[typeArg + 1] ?? '').split(',').filter(Boolean) : undefined;
  const config = loadConfig();
  const storage = await openStorage(config.databaseUrl);
  try {
    const svc = createServices({ storage, baseUrl: config.baseUrl });
    await svc.ready;
    for (const t of types ?? []) {
      if (!svc.defs.resourceTypes.has(t)) {
        process.stderr.write(`Unknown resource type '${t}'\n`);
        return 2;
      }
    }
    const bar = new cliProgress.SingleBar(
      {
        format: 'reindex [{bar}] {percentage}% | {value}/{total} resources | {eta_formatted} left',
        stream: process.stderr,
        hideCursor: true,
        noTTYOutput: true,
        notTTYSchedule: 2000,
      },
      cliProgress.Presets.shades_classic,
    );
    const started = Date.now();
    const result = await reindex(svc, {
      types,
      onProgress: (done, total) => (done === 0 ? bar.start(total, 0) : bar.update(done)),
    });
    bar.stop();
    const seconds = (Date.now() - started) / 1000;
    process.stdout.write(`Reindexed ${result.resources} resources in ${seconds.toFixed(1)} s\n`);
    return 0;
  } finally {
    await storage.close();
  }
}
