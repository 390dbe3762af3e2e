import { statSync } from 'node:fs';
import type { OperationOutcomeIssue, Resource } from '@medplum/fhirtypes';
import cliProgress from 'cli-progress';
import { inputFiles, readInputs, type InputItem } from '../validation/inputs.js';
import { tally, textReport, type Result, type Summary } from './validate-report.js';
import { embeddedTarget, serverTarget, ServerUnreachable, type ValidationTarget } from './validate-targets.js';

const USAGE =
  'Usage: forlop validate <file or folder>… [--profile <url>]… [--format text|json] [--server <FHIR base url>]\n';

const NOT_FOUND = 'No such file or folder';

interface Report {
  summary: Summary;
  results: Result[];
}

interface Options {
  paths: string[];
  profiles: string[];
  format: 'text' | 'json';
  server?: string;
}

function parseArgs(args: string[]): Options | string {
  const options: Options = { paths: [], profiles: [], format: 'text' };
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === '--profile') {
      const url = args[++i];
      if (!url) return '--profile needs a canonical url';
      options.profiles.push(url);
    } else if (a === '--format') {
      const f = args[++i];
      if (f !== 'text' && f !== 'json') return '--format is text or json';
      options.format = f;
    } else if (a === '--server') {
      const url = args[++i];
      if (!url || !/^https?:\/\/[^\s]+$/.test(url)) {
        return '--server needs the FHIR base url of a running server (http://host:port/fhir)';
      }
      options.server = url;
    } else if (a.startsWith('--')) {
      return `Unknown option ${a}`;
    } else {
      options.paths.push(a);
    }
  }
  if (!options.paths.length) return 'Name at least one file or folder';
  return options;
}

/**
 * `forlop validate`: validates files, folders, Bundles and NDJSON as `$validate` does — with the
 * server's validator on a throw-away embedded database (the shipped profiles, terminology and
 * pathways), or with `--server` by a running server's `$validate` — and dry-runs transaction and
 * batch Bundles. A summary table (or `--format json`); exit code 1 when any resource has an error,
 * 2 for a usage error or a server that cannot be reached.
 */
export async function validateCommand(args: string[]): Promise<number> {
  const parsed = parseArgs(args);
  if (typeof parsed === 'string') {
    process.stderr.write(`${parsed}\n${USAGE}`);
    return 2;
  }
  let target: ValidationTarget;
  try {
    target = parsed.server ? await serverTarget(parsed.server) : await embeddedTarget();
  } catch (err) {
    if (!(err instanceof ServerUnreachable)) throw err;
    process.stderr.write(`forlop validate: ${err.message}\n`);
    return 2;
  }
  try {
    const { summary, results } = await validateAll(target, parsed);
    const json = parsed.format === 'json';
    process.stdout.write(json ? `${JSON.stringify({ summary, results }, null, 2)}\n` : textReport(results, summary));
    return summary.errors > 0 ? 1 : 0;
  } catch (err) {
    if (!(err instanceof ServerUnreachable)) throw err;
    process.stderr.write(`\nforlop validate: ${err.message}\n`);
    return 2;
  } finally {
    await target.close();
  }
}

/** Every input item through the target, with a progress bar on stderr. */
async function validateAll(target: ValidationTarget, options: Options): Promise<Report> {
  const { files, missing } = inputFiles(options.paths);
  const notFound: OperationOutcomeIssue = { severity: 'error', code: 'not-found', diagnostics: NOT_FOUND };
  const results: Result[] = missing.map((file) => ({ file, issues: [notFound] }));
  const summary: Summary = { files: files.length, resources: 0, valid: 0, errors: 0, warnings: 0, information: 0 };
  summary.errors = missing.length;
  const totalBytes = files.reduce((n, f) => n + statSync(f).size, 0);
  const format = 'validate [{bar}] {percentage}% | {resources} resources | {eta_formatted} left';
  const bar = new cliProgress.SingleBar(
    { format, stream: process.stderr, hideCursor: true, noTTYOutput: false },
    cliProgress.Presets.shades_classic,
  );
  bar.start(totalBytes, 0, { resources: 0 });
  try {
    for await (const item of readInputs(files)) {
      bar.increment(item.bytes, { resources: summary.resources });
      if (!item.resource && !item.unreadable) continue;
      const issues: OperationOutcomeIssue[] = item.unreadable
        ? [{ severity: 'error', code: 'structure', diagnostics: item.unreadable }]
        : await target.validate(item.resource as Resource, options.profiles);
      tally(summary, issues, item.resource as InputItem['resource'] & { entry?: unknown });
      if (issues.length) {
        const r = item.resource as { resourceType?: string; id?: string } | undefined;
        results.push({ file: item.file, line: item.line, resourceType: r?.resourceType, id: r?.id, issues });
      }
    }
  } finally {
    bar.stop();
  }
  return { summary, results };
}
