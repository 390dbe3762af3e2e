import { loadConfig } from '../config.js';
import { jsonLog } from '../http/log.js';
import { startServer } from '../server.js';
import { reindexCommand } from './reindex.js';
import { validateCommand } from './validate.js';
import { registryReportCommand } from './registry-report.js';
import { backupCommand } from './backup.js';
import { packageCommand } from './package.js';

const USAGE = `Commands (the database is DATABASE_URL's):
  serve                                   the FHIR server (the default)
  reindex [--type T,…]                    rebuild the search indexes
  validate <paths…> [--profile url] [--format json]
  registry-report --period P [--unit id] [--out file]
  backup --out FILE                       a consistent backup while servers run (docs/operations.md)
  package install <tgz|dir> [--store-only] [--examples]   install a FHIR package (docs/packages.md)
`;

/** `forlop <command>`: serve (default), reindex, validate, registry-report, backup, package. */
async function main(argv: string[]): Promise<number> {
  const [command = 'serve'] = argv;
  switch (command) {
    case 'serve': {
      const config = loadConfig();
      const running = await startServer(config);
      jsonLog({
        level: 'info',
        msg: `Forløp FHIR R4 server listening`,
        baseUrl: running.baseUrl,
        database: config.databaseUrl.replace(/\/\/[^@]*@/, '//***@'),
      });
      process.stdout.write(
        `\nForløp is running: ${running.baseUrl}  (CapabilityStatement: ${running.baseUrl}/metadata)\n\n`,
      );
      const shutdown = () => void running.stop().then(() => process.exit(0));
      process.once('SIGTERM', shutdown);
      process.once('SIGINT', shutdown);
      return -1; // keep running
    }
    case 'reindex':
      return reindexCommand(argv.slice(1));
    case 'validate':
      return validateCommand(argv.slice(1));
    case 'registry-report':
      return registryReportCommand(argv.slice(1));
    case 'backup':
      return backupCommand(argv.slice(1));
    case 'package':
      return packageCommand(argv.slice(1));
    case '--help':
    case 'help':
      process.stdout.write(USAGE);
      return 0;
    default:
      process.stderr.write(`Unknown command '${command}'.\n${USAGE}`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exit(code);
  },
  (err) => {
    process.stderr.write(`forlop: ${(err as Error).message}\n`);
    process.exit(1);
  },
);
