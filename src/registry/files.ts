import { randomUUID } from 'node:crypto';
import { closeSync, mkdirSync, openSync, renameSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Bundle, BundleEntry, OperationOutcome } from '@medplum/fhirtypes';

/** Where a report goes: whole JSON Bundles, an NDJSON file (a resource a line), the problems. */
export interface ReportPaths {
  json: string[];
  ndjson?: string;
  problems?: string;
}

/**
 * A temporary name of this run's own beside `path`: two runs of one report (one waiting for the
 * other's lease) each write theirs, and the last rename wins with the same content.
 */
const tempName = (path: string) => `${path}.${process.pid}-${randomUUID().slice(0, 8)}.tmp`;

/** Writes a file whole or not at all: to a temporary name, then renamed over the old one. */
function writeAtomically(path: string, text: string): void {
  const tmp = tempName(path);
  writeFileSync(tmp, text);
  renameSync(tmp, path);
}

/** A file written under a temporary name while the report is built, renamed into place at the end. */
class PendingFile {
  readonly tmp: string;
  private readonly fd: number;

  constructor(readonly path: string) {
    mkdirSync(dirname(path), { recursive: true });
    this.tmp = tempName(path);
    this.fd = openSync(this.tmp, 'w');
  }

  write(text: string): void {
    writeSync(this.fd, text);
  }

  close(): void {
    closeSync(this.fd);
  }
}

/**
 * The report's files, written as its pages are made, so no file is ever held whole in memory: each
 * JSON file is the whole report as one Bundle (the unit once, then every page's patients and codes),
 * the NDJSON file a resource per line. Nothing is visible under the final names until `commit()`
 * (after the report's transaction committed); `abort()` removes the temporary files.
 */
export class ReportFiles {
  private readonly json: PendingFile[];
  private readonly ndjson?: PendingFile;
  private entries = 0;
  private timestamp = '';
  private problems?: OperationOutcome;

  /** `shell`: the report's Bundle without entries or timestamp (known only at the end). */
  constructor(
    private readonly to: ReportPaths,
    shell: Bundle,
    unit: BundleEntry,
  ) {
    this.json = to.json.map((p) => new PendingFile(p));
    this.ndjson = to.ndjson ? new PendingFile(to.ndjson) : undefined;
    // the shell's JSON without its closing brace: entries follow, the timestamp closes it
    const head = `${JSON.stringify(shell).slice(0, -1)},"entry":[\n`;
    for (const f of this.json) f.write(head);
    this.add([unit]);
  }

  get paths(): string[] {
    return [
      ...this.to.json,
      ...(this.to.ndjson ? [this.to.ndjson] : []),
      ...(this.to.problems ? [this.to.problems] : []),
    ];
  }

  /** The problems, written (atomically) on commit. */
  setProblems(outcome: OperationOutcome): void {
    this.problems = outcome;
  }

  /** A page's entries (without its unit, written once at the start). */
  addPage(page: Bundle): void {
    this.add((page.entry ?? []).slice(1));
    if ((page.timestamp ?? '') > this.timestamp) this.timestamp = page.timestamp as string;
  }

  private add(entries: BundleEntry[]): void {
    if (!entries.length) return;
    // each resource serialised once, for both files
    const resources = entries.map((e) => JSON.stringify(e.resource));
    const text =
      (this.entries ? ',\n' : '') +
      entries.map((e, i) => `{"fullUrl":${JSON.stringify(e.fullUrl)},"resource":${resources[i]}}`).join(',\n');
    for (const f of this.json) f.write(text);
    this.ndjson?.write(`${resources.join('\n')}\n`);
    this.entries += entries.length;
  }

  commit(): void {
    const tail = `\n],"timestamp":${JSON.stringify(this.timestamp)}}\n`;
    for (const f of this.json) f.write(tail);
    for (const f of this.all()) {
      f.close();
      renameSync(f.tmp, f.path);
    }
    if (this.to.problems && this.problems) writeAtomically(this.to.problems, `${JSON.stringify(this.problems)}\n`);
  }

  abort(): void {
    for (const f of this.all()) {
      try {
        f.close();
      } catch {
        // already closed
      }
      rmSync(f.tmp, { force: true });
    }
  }

  private all(): PendingFile[] {
    return [...this.json, ...(this.ndjson ? [this.ndjson] : [])];
  }
}
