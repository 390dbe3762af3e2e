import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Bundle } from '@medplum/fhirtypes';

/**
 * The pages a run will store, kept on disk between building them (over a snapshot) and writing them
 * (in the run's one transaction at its end): memory holds one page at a time, never the report.
 */
export class PageSpool {
  private dir?: string;
  private readonly ids: string[] = [];

  add(id: string, json: string): void {
    this.dir ??= mkdtempSync(join(tmpdir(), 'forlop-report-'));
    writeFileSync(join(this.dir, `${this.ids.length}.json`), json);
    this.ids.push(id);
  }

  get size(): number {
    return this.ids.length;
  }

  /** The pages in the order they were added, read back one at a time. */
  *pages(): Generator<[id: string, page: Bundle]> {
    for (const [i, id] of this.ids.entries())
      yield [id, JSON.parse(readFileSync(join(this.dir as string, `${i}.json`), 'utf8')) as Bundle];
  }

  remove(): void {
    if (this.dir) rmSync(this.dir, { recursive: true, force: true });
  }
}
