import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { OperationOutcomeIssue, Resource } from '@medplum/fhirtypes';
import cliProgress from 'cli-progress';
import { createServices } from '../fhir/create-services.js';
import { SqliteStorage } from '../storage/sqlite.js';
import { loadTerminology } from '../terminology/loader.js';
import { inputFiles, readInputs, type InputItem } from '../validation/inputs.js';

const USAGE = 'Usage: forlop validate <file or folder>… [--profile <url>]… [--format text|json]\n';

interface Result {
  file: string;
  line?: number;
  resourceType?: string;
  id?: string;
  issues: OperationOutcomeIssue[];
}

interface Summary {
  files: number;
  resources: number;
  valid: number;
  errors: number;
  warnings: number;
  information: number;
}

function parseArgs(args: string[]): { paths: string[]; profiles: string[]; format: 'text' | 'json' } | string {
  const paths: string[] = [];
  const profiles: string[] = [];
  let format: 'text' | 'json' = 'text';
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === '--profile') {
      const url = args[++i];
      if (!url) return '--profile needs a canonical url';
      profiles.push(url);
    } else if (a === '--format') {
      const f = args[++i];
      if (f !== 'text' && f !== 'json') return '--format is text or json';
      format = f;
    } else if (a.startsWith('--')) {
      return `Unknown option ${a}`;
    } else {
      paths.push(a);
    }
  }
  if (!paths.length) return 'Name at least one file or folder';
  return { paths, profiles, format };
}

/** Resources a Bundle holds, counted as resources of their own. */
function entryCount(resource: InputItem['resource']): number {
  if (resource?.resourceType !== 'Bundle') return 0;
  const entries = (resource as { entry?: { resource?: unknown }[] }).entry;
  return Array.isArray(entries) ? entries.filter((e) => e?.resource).length : 0;
}

/**
 * `forlop validate`: validates files, folders, Bundles and NDJSON with the server's validator (the
 * shipped profiles and terminology, on a throw-away embedded database), without a server. A summary
 * table (or `--format json`), and exit code 1 when any resource has an error.
 */
export async function validateCommand(args: string[]): Promise<number> {
  const parsed = parseArgs(args);
  if (typeof parsed === 'string') {
    process.stderr.write(`${parsed}\n${USAGE}`);
    return 2;
  }
  const { files, missing } = inputFiles(parsed.paths);
  const dir = mkdtempSync(join(tmpdir(), 'forlop-validate-'));
  const storage = new SqliteStorage(join(dir, 'terminology.db'));
  try {
    const svc = createServices({ storage, baseUrl: 'http://localhost/fhir' });
    await svc.ready;
    await loadTerminology(svc);
    const results: Result[] = missing.map((file) => ({ file, issues: [{ severity: 'error', code: 'not-found', diagnostics: 'No such file or folder' }] }));
    const summary: Summary = { files: files.length, resources: 0, valid: 0, errors: missing.length, warnings: 0, information: 0 };
    const totalBytes = files.reduce((n, f) => n + statSync(f).size, 0);
    const bar = new cliProgress.SingleBar(
      { format: 'validate [{bar}] {percentage}% | {resources} resources | {eta_formatted} left', stream: process.stderr, hideCursor: true, noTTYOutput: false },
      cliProgress.Presets.shades_classic,
    );
    bar.start(totalBytes, 0, { resources: 0 });
    for await (const item of readInputs(files)) {
      bar.increment(item.bytes, { resources: summary.resources });
      if (!item.resource && !item.unreadable) continue;
      const issues: OperationOutcomeIssue[] = item.unreadable
        ? [{ severity: 'error', code: 'structure', diagnostics: item.unreadable }]
        : await svc.validator.validate(item.resource as Resource, { profiles: parsed.profiles });
      if (item.resource) summary.resources += 1 + entryCount(item.resource);
      const errors = issues.filter((i) => i.severity === 'error' || i.severity === 'fatal').length;
      if (!errors && item.resource) summary.valid++;
      summary.errors += errors;
      summary.warnings += issues.filter((i) => i.severity === 'warning').length;
      summary.information += issues.filter((i) => i.severity === 'information').length;
      if (issues.length) {
        const r = item.resource as { resourceType?: string; id?: string } | undefined;
        results.push({ file: item.file, line: item.line, resourceType: r?.resourceType, id: r?.id, issues });
      }
    }
    bar.stop();
    process.stdout.write(parsed.format === 'json' ? `${JSON.stringify({ summary, results }, null, 2)}\n` : textReport(results, summary));
    return summary.errors > 0 ? 1 : 0;
  } finally {
    await storage.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

function textReport(results: Result[], s: Summary): string {
  const out: string[] = [];
  for (const r of results) {
    const shown = r.issues.filter((i) => i.severity !== 'information');
    if (!shown.length) continue;
    out.push(`${r.file}${r.line ? `:${r.line}` : ''}${r.resourceType ? `  (${r.resourceType}${r.id ? `/${r.id}` : ''})` : ''}`);
    for (const i of shown) out.push(`  ${i.severity.padEnd(8)} ${(i.expression?.[0] ?? '').padEnd(40)} ${i.diagnostics ?? ''}`);
  }
  const head = ['Files', 'Resources', 'Valid', 'Errors', 'Warnings'];
  const row = [s.files, s.resources, s.valid, s.errors, s.warnings].map(String);
  const widths = head.map((h, i) => Math.max(h.length, row[i].length));
  if (out.length) out.push('');
  out.push(head.map((h, i) => h.padStart(widths[i])).join('  '));
  out.push(row.map((v, i) => v.padStart(widths[i])).join('  '));
  return `${out.join('\n')}\n`;
}
