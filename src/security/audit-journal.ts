import type { AuditEvent } from '@medplum/fhirtypes';
import { newId } from '../fhir/ids.js';
import type { ResourceStore } from '../fhir/store.js';
import {
  appendJournal,
  journalLength,
  journalPending,
  oldestJournalled,
  removeJournalled,
} from '../storage/audit-tables.js';
import type { SqlExecutor } from '../storage/types.js';

/** How many journalled events one transaction turns into AuditEvent resources. */
const MATERIALISE_BATCH = 500;

/**
 * The audit trail's journal (issue 21): every audited request appends its AuditEvent here as compact
 * JSON — a write in its own transaction, reads in batches — at the cost of one row with no index rows.
 * The events become AuditEvent resources (stored, indexed, in history) in bulk: before anything that
 * could read an AuditEvent is answered (`catchUp`), and in the background (`startMaterialising`). So
 * the trail is as searchable and immutable through the API as before, and the hot path never waits on
 * an AuditEvent's eleven index rows. Each event's id is given when it is journalled, so a materialised
 * AuditEvent keeps it; `meta.lastUpdated` is when it was materialised, `recorded` when it happened.
 */
export class AuditJournal {
  private running: Promise<number> = Promise.resolve(0);

  constructor(private readonly store: ResourceStore) {}

  /** Journals events in the caller's transaction: they commit (and are durable) with it, or not at all. */
  async append(db: SqlExecutor, events: AuditEvent[]): Promise<void> {
    const rows = events.map((event) => {
      const id = newId();
      return { id, recorded: Date.parse(event.recorded ?? '') || 0, body: JSON.stringify({ ...event, id }) };
    });
    await appendJournal(db, rows);
  }

  /** Events journalled and not yet AuditEvent resources. */
  pending(): Promise<number> {
    return journalLength(this.store.storage);
  }

  /**
   * Materialises everything journalled so far, so a read of AuditEvents that follows sees it. One run
   * at a time in this process; across processes the journal's lock serialises them (each takes the
   * oldest rows under it, so no event is stored twice). Cheap when the journal is empty: one probe.
   */
  catchUp(): Promise<number> {
    this.running = this.running.then(
      () => this.materialiseAll(),
      () => this.materialiseAll(),
    );
    return this.running;
  }

  private async materialiseAll(): Promise<number> {
    let done = 0;
    while (await journalPending(this.store.storage)) {
      const n = await this.materialiseBatch();
      done += n;
      if (n < MATERIALISE_BATCH) break;
    }
    return done;
  }

  private materialiseBatch(): Promise<number> {
    return this.store.transaction(async (tx) => {
      await tx.lock('audit-journal');
      const rows = await oldestJournalled(tx, MATERIALISE_BATCH);
      for (const row of rows) {
        const event = JSON.parse(row.body) as AuditEvent;
        await this.store.write(tx, 'AuditEvent', row.id, undefined, event, 'POST');
      }
      if (rows.length) await removeJournalled(tx, rows[rows.length - 1].seq);
      return rows.length;
    });
  }
}

/**
 * Materialises the journal in the background every `everyMs` (AUDIT_MATERIALISE_SECONDS), so it stays
 * short and the first AuditEvent search after a busy hour does not wait on it. A failed run (the
 * database away) is logged and the next one takes the rows it left.
 */
export function startMaterialising(
  journal: AuditJournal,
  everyMs: number,
  log: (entry: Record<string, unknown>) => void,
): { stop(): Promise<void> } {
  let run: Promise<unknown> = Promise.resolve();
  const timer = setInterval(() => {
    run = journal.catchUp().catch((err: unknown) => {
      log({ level: 'error', msg: 'audit journal not materialised; the next run takes it', error: String(err) });
    });
  }, everyMs).unref();
  return {
    async stop() {
      clearInterval(timer);
      await run;
    },
  };
}
