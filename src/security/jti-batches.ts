import type { Storage } from '../storage/types.js';

interface Waiting {
  jkt: string;
  jti: string;
  expires: number;
  resolve: (first: boolean) => void;
  reject: (err: unknown) => void;
}

/** Rows per INSERT: 3 values each, far below SQLite's (32,766) and PostgreSQL's (65,535) bound values. */
const BATCH_MAX = 500;

/**
 * DPoP jtis written to `dpop_jti` in batches: the jtis of the requests that arrive while a batch is
 * being committed go together in the next one, as one multi-row INSERT … ON CONFLICT DO NOTHING
 * RETURNING in its own transaction. The rows it returns are the jtis that were new; any other was in
 * the table already — recorded by this node or another on the same database, the primary key (jkt, jti)
 * deciding between two nodes racing on one jti. Each caller is answered once its batch has committed and
 * is visible to every node — not after the fsync (`durable: false`): a jti can be lost only with the
 * database machine's power in the last moments before the WAL reached the disk, and its proof is refused
 * by `iat` 65 s later (docs/security.md, "The jti record"). A request alone waits for no one: its batch
 * starts after this turn's I/O.
 */
export class JtiBatches {
  private waiting: Waiting[] = [];
  private running = false;

  constructor(private readonly storage: Storage) {}

  /** True when this jti is new and is now recorded; false when it was recorded before. */
  record(jkt: string, jti: string, expires: number): Promise<boolean> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ jkt, jti, expires, resolve, reject });
      if (this.running) return;
      this.running = true;
      // after this turn's I/O callbacks: the requests that arrived together share a batch
      setImmediate(() => void this.run());
    });
  }

  private async run(): Promise<void> {
    while (this.waiting.length) {
      const batch = this.waiting.splice(0, BATCH_MAX);
      try {
        const fresh = await this.insert(batch);
        // one jti twice in a batch is one row: the first caller has it, the second is its replay
        for (const w of batch) w.resolve(fresh.delete(`${w.jkt} ${w.jti}`));
      } catch (err) {
        for (const w of batch) w.reject(err);
      }
    }
    this.running = false;
  }

  private async insert(batch: Waiting[]): Promise<Set<string>> {
    const values = batch.map(() => '(?, ?, ?)').join(', ');
    const sql = `INSERT INTO dpop_jti (jkt, jti, expires) VALUES ${values} ON CONFLICT DO NOTHING RETURNING jkt, jti`;
    const params = batch.flatMap((w) => [w.jkt, w.jti, w.expires]);
    // answered at commit, not after the fsync: a bounded window, argued from RFC 9449 §11.1 in docs/security.md
    const rows = await this.storage.transaction((tx) => tx.all<{ jkt: string; jti: string }>(sql, params), {
      durable: false,
    });
    return new Set(rows.map((r) => `${r.jkt} ${r.jti}`));
  }
}
