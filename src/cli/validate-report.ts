import type { OperationOutcomeIssue } from '@medplum/fhirtypes';

/** What `forlop validate` found for one input item (a file, or a line of an NDJSON file). */
export interface Result {
  file: string;
  line?: number;
  resourceType?: string;
  id?: string;
  issues: OperationOutcomeIssue[];
}

export interface Summary {
  files: number;
  /** Resources read: each one, and each resource a Bundle's entries hold. */
  resources: number;
  /** Of those, the resources no error is about. */
  valid: number;
  errors: number;
  warnings: number;
  information: number;
}

const isError = (i: OperationOutcomeIssue) => i.severity === 'error' || i.severity === 'fatal';
interface Counted {
  resources: number;
  valid: number;
}

/** A resource as read from a file: its type, and for a Bundle its entries. */
type Readable = { resourceType?: unknown; entry?: unknown };
const ENTRY = /^Bundle\.entry\[(\d+)\]/;

/**
 * A resource, and for a Bundle each resource of its entries, counted as valid or not by where its
 * errors are: an error at or under `Bundle.entry[i]` is about the resource of entry i (the entry's
 * request is how that resource is written), any other about the Bundle itself.
 */
export function countResources(resource: Readable, issues: OperationOutcomeIssue[]): Counted {
  const bundle = resource.resourceType === 'Bundle' && Array.isArray(resource.entry);
  const entries = bundle ? (resource.entry as { resource?: unknown }[]) : [];
  const held = new Set(entries.flatMap((e, i) => (e && typeof e === 'object' && e.resource ? [i] : [])));
  const invalid = new Set<number>(); // -1: the Bundle (or resource) itself
  for (const issue of issues.filter(isError)) {
    const index = Number(ENTRY.exec(issue.expression?.[0] ?? '')?.[1] ?? -1);
    invalid.add(held.has(index) ? index : -1);
  }
  return { resources: 1 + held.size, valid: 1 + held.size - invalid.size };
}

/** Adds one item's issues to the summary's counts. */
export function tally(summary: Summary, issues: OperationOutcomeIssue[], resource?: Readable): void {
  if (resource) {
    const counted = countResources(resource, issues);
    summary.resources += counted.resources;
    summary.valid += counted.valid;
  }
  summary.errors += issues.filter(isError).length;
  summary.warnings += issues.filter((i) => i.severity === 'warning').length;
  summary.information += issues.filter((i) => i.severity === 'information').length;
}

/** The issues (information left out), then the table: Files, Resources, Valid, Errors, Warnings. */
export function textReport(results: Result[], s: Summary): string {
  const out: string[] = [];
  for (const r of results) {
    const shown = r.issues.filter((i) => i.severity !== 'information');
    if (!shown.length) continue;
    const what = r.resourceType ? `  (${r.resourceType}${r.id ? `/${r.id}` : ''})` : '';
    out.push(`${r.file}${r.line ? `:${r.line}` : ''}${what}`);
    for (const i of shown) out.push(`  ${i.severity.padEnd(8)} ${(i.expression?.[0] ?? '').padEnd(40)} ${text(i)}`);
  }
  const head = ['Files', 'Resources', 'Valid', 'Errors', 'Warnings'];
  const row = [s.files, s.resources, s.valid, s.errors, s.warnings].map(String);
  const widths = head.map((h, i) => Math.max(h.length, row[i].length));
  if (out.length) out.push('');
  out.push(head.map((h, i) => h.padStart(widths[i])).join('  '));
  out.push(row.map((v, i) => v.padStart(widths[i])).join('  '));
  return `${out.join('\n')}\n`;
}

/** The diagnostics, with a coded reason's codes (an NPR feedback code) when the text does not show them. */
function text(i: OperationOutcomeIssue): string {
  const said = i.diagnostics ?? i.details?.text ?? '';
  const codes = (i.details?.coding ?? [])
    .map((c) => c.code)
    .filter((c): c is string => Boolean(c) && !said.includes(c as string));
  return codes.length ? `${said} [${codes.join(', ')}]` : said;
}
