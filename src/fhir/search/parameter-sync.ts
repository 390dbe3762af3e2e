import type { SearchParameter } from '@medplum/fhirtypes';
import type { SqlExecutor } from '../../storage/types.js';

/**
 * Keeps this process's search parameters up to date with the SearchParameter resources in the
 * database, whichever server process wrote them (docs/scale-out.md). The process that takes a write
 * registers the parameter at once; every other API node checks a *generation* — how many
 * SearchParameter versions the history holds (the store's `versionCount`) — at the start of each request,
 * and when it changed registers the stored active ones again before the request is served. A count,
 * not the last sequence number: on PostgreSQL a write that took its number first may commit last.
 *
 * Checks are shared: a request waits for a check that started after it arrived (never for one that
 * may have read the database before the write it follows), and requests arriving together share one.
 */
export class SearchParameterSync {
  private seen?: number;
  private current?: Promise<void>;
  private next?: Promise<void>;

  constructor(
    private readonly db: SqlExecutor,
    /** How many SearchParameter versions are stored (ResourceStore.versionCount). */
    private readonly versions: () => Promise<number>,
    /** Makes one stored SearchParameter searchable (and indexed); throws when it cannot be. */
    private readonly register: (sp: SearchParameter) => void,
  ) {}

  /** Registers what changed since the last check; the first (at start-up) fails on one it cannot register. */
  check(): Promise<void> {
    if (!this.current) {
      this.current = this.run().finally(() => (this.current = undefined));
      return this.current;
    }
    // one started before this request: wait for it, then run one more for everyone who came meanwhile
    this.next ??= this.current
      .catch(() => undefined)
      .then(() => {
        this.next = undefined;
        return this.check();
      });
    return this.next;
  }

  private async run(): Promise<void> {
    const generation = await this.versions();
    if (generation === this.seen) return;
    const strict = this.seen === undefined;
    const rows = await this.db.all<{ content: string }>(
      `SELECT content FROM resources WHERE type = 'SearchParameter' AND deleted = 0`,
    );
    for (const { content } of rows) {
      try {
        this.register(JSON.parse(content) as SearchParameter);
      } catch (err) {
        // a parameter its own write refused is not stored; two written at once on two nodes may clash
        // (one index id): the one registered first stays, as a restart would keep it
        if (strict) throw err;
      }
    }
    this.seen = generation;
  }
}
