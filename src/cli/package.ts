import { createServices } from '../app/services.js';
import { loadConfig } from '../config.js';
import { FhirError } from '../fhir/errors.js';
import { installPackage } from '../packages/install.js';
import { readPackagePath } from '../packages/read.js';
import { openStorage } from '../storage/open.js';

const USAGE = 'Usage: forlop package install <package.tgz|folder> [--store-only] [--examples]\n';

/**
 * `forlop package install <path> [--store-only] [--examples]`: installs a FHIR package (a `.tgz` or an
 * unpacked folder) into the database of DATABASE_URL, as `$install-package` does; safe while servers run
 * on the same database (they pick up its SearchParameters at their next request). Prints what it did;
 * a refusal prints the OperationOutcome's issues and exits with 1.
 */
export async function packageCommand(args: string[]): Promise<number> {
  const [sub, path, ...flags] = args;
  const unknown = flags.filter((f) => f !== '--store-only' && f !== '--examples');
  if (sub !== 'install' || !path || unknown.length) {
    process.stderr.write(USAGE);
    return 2;
  }
  const config = loadConfig();
  const storage = await openStorage(config.databaseUrl);
  try {
    const svc = createServices({ storage, baseUrl: config.baseUrl });
    await svc.ready;
    const pkg = await readPackagePath(path, { examples: flags.includes('--examples') });
    const report = await installPackage(svc, pkg, flags.includes('--store-only') ? 'store-only' : 'install');
    process.stdout.write(
      `Installed ${report.name}#${report.version} (${report.mode}, index ${report.index}): ` +
        `${report.created} created, ${report.updated} updated, ${report.unchanged} unchanged; ` +
        `${report.activated.length} search parameters activated, ${report.reindexed} resources reindexed\n`,
    );
    return 0;
  } catch (err) {
    if (!(err instanceof FhirError)) throw err;
    for (const issue of err.issues) process.stderr.write(`${issue.severity}: ${issue.diagnostics}\n`);
    return 1;
  } finally {
    await storage.close();
  }
}
