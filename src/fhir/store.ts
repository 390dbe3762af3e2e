import type { Resource, SearchParameter } from '@medplum/fhirtypes';
import { placeholders, type SqlExecutor, type SqlValue, type Storage, type Tx } from '../storage/types.js';
import { INDEX_TABLES, VERSION_TRIGGER, versionTriggerSql } from '../storage/schema.js';
import type { Clock } from './clock.js';
import { FhirError } from './errors.js';
import { paramId } from './search/param-id.js';
import type { IndexExtractor, IndexRow, IndexTable } from './search/extract.js';
import { IndexBuffer, insertRows } from './search/index-buffer.js';

/** One stored version of a resource, as kept in `resources` (current) and `history` (all). */
export interface VersionRow {
  type: string;
  id: string;
  version: number;
  last_updated: number;
  deleted: number;
  /** The resource as JSON, its meta included; null for a deletion. */
  content: string | null;
  method?: string;
  rid?: number;
}

export type WriteMethod = 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** Which history a page is of: everything, a type, or one resource; `since` in epoch ms, `before` a cursor. */
export interface HistoryQuery {
  type?: string;
  id?: string;
  since?: number;
  before?: number;
  limit: number;
}

const VERSION_COLS = 'type, id, version, last_updated, deleted, content';

/** Runs inside a transaction, after its work and before its commit, with every version it wrote. */
export type CommitHook = (tx: Tx, written: VersionRow[]) => Promise<void>;

/**
 * A transaction of a store with a commit hook: the storage's transaction, and the versions written in
 * it, handed to the hook before the commit (a context object instead of module state keyed by Tx).
 */
class HookedTx implements Tx {
  readonly written: VersionRow[] = [];
  /** Index rows written and not yet sent (index-buffer.ts): sent before a statement that reads them. */
  readonly index = new IndexBuffer();
  constructor(private readonly tx: Tx) {}
  async all<T extends object>(sql: string, params?: readonly SqlValue[]): Promise<T[]> {
    await this.index.before(this.tx, sql);
    return this.tx.all<T>(sql, params);
  }
  async get<T extends object>(sql: string, params?: readonly SqlValue[]): Promise<T | undefined> {
    await this.index.before(this.tx, sql);
    return this.tx.get<T>(sql, params);
  }
  async run(sql: string, params?: readonly SqlValue[]): Promise<{ changes: number }> {
    await this.index.before(this.tx, sql);
    return this.tx.run(sql, params);
  }
  /** Sends what the buffer holds: before the commit hook (which searches the index) and the commit. */
  flush(): Promise<void> {
    return this.index.flush(this.tx);
  }
  lock(key: string): Promise<void> {
    return this.tx.lock(key);
  }
}

/**
 * The resource store: versions, history and search index rows, kept consistent in one transaction.
 * Reads take any executor (the storage, or a transaction to see its own writes); writes take a Tx.
 */
export class ResourceStore {
  constructor(
    readonly storage: Storage,
    private readonly extractor: IndexExtractor,
    private readonly clock: Clock,
    /** Called when a SearchParameter is written, so an active one becomes searchable. */
    private readonly onSearchParameter: (sp: SearchParameter) => void = () => undefined,
  ) {}

  private hook?: CommitHook;
  /** The types whose versions `type_versions` counts (shared by the scoped copies withCommitHook makes). */
  private readonly counted = new Set<string>();

  /**
   * The same store, whose transactions end with `hook` (the audit of one request: its AuditEvent and
   * Provenance are written in the transaction that made the change, so they commit with it or not at all).
   */
  withCommitHook(hook: CommitHook): ResourceStore {
    const scoped = Object.create(this) as ResourceStore;
    // hooks compose: a request's audit hook runs after the hooks of the store it scopes (the outbox)
    const outer = this.hook;
    scoped.hook = outer
      ? async (tx, written) => {
          await outer(tx, written);
          await hook(tx, written);
        }
      : hook;
    return scoped;
  }

  transaction<T>(fn: (tx: Tx) => Promise<T>): Promise<T> {
    const hook = this.hook;
    if (!hook) return this.storage.transaction(fn);
    return this.storage.transaction(async (raw) => {
      const tx = new HookedTx(raw);
      const result = await fn(tx);
      await tx.flush();
      // the hook's own writes (the AuditEvent) go to the storage's transaction: they are not what it audits
      if (tx.written.length) await hook(raw, tx.written);
      return result;
    });
  }

  current(type: string, id: string, db: SqlExecutor = this.storage): Promise<VersionRow | undefined> {
    return db.get<VersionRow>(`SELECT rid, ${VERSION_COLS} FROM resources WHERE type = ? AND id = ?`, [type, id]);
  }

  /** The version now current of each of these rows (by rid): one statement per 500, not one per row. */
  async currentVersions(rids: readonly number[], db: SqlExecutor = this.storage): Promise<Map<number, number>> {
    const out = new Map<number, number>();
    for (let i = 0; i < rids.length; i += 500) {
      const chunk = rids.slice(i, i + 500);
      const rows = await db.all<{ rid: number; version: number }>(
        `SELECT rid, version FROM resources WHERE rid IN (${placeholders(chunk)})`,
        chunk,
      );
      for (const r of rows) out.set(Number(r.rid), Number(r.version));
    }
    return out;
  }

  version(type: string, id: string, version: number, db: SqlExecutor = this.storage): Promise<VersionRow | undefined> {
    return db.get<VersionRow>(`SELECT ${VERSION_COLS}, method FROM history WHERE type = ? AND id = ? AND version = ?`, [
      type,
      id,
      version,
    ]);
  }

  /**
   * The number of versions ever written of these types: a generation that moves with every commit of
   * one of them (history only grows). Not the last sequence number: on PostgreSQL a write that took its
   * number first may commit last, leaving MAX(seq) as it was. Types registered with `countVersions` are
   * one row each to read; others are counted in the history index.
   */
  async versionCount(types: readonly string[], db: SqlExecutor = this.storage): Promise<number> {
    const counted = types.every((t) => this.counted.has(t));
    const row = await db.get<{ g: number | null }>(
      counted
        ? `SELECT SUM(n) AS g FROM type_versions WHERE type IN (${placeholders(types)})`
        : `SELECT COUNT(*) AS g FROM history WHERE type IN (${placeholders(types)})`,
      types,
    );
    return Number(row?.g ?? 0);
  }

  /**
   * Keeps a running count of these types' versions (issue 21: counting them in the history index cost a
   * create ~150 µs for the terminology and search-parameter generations). A trigger on `history` adds to
   * the counts of the types with a row in `type_versions`; a new type's row starts from the history's
   * count, taken while no one can insert (PostgreSQL: an exclusive lock, held to the commit; SQLite: its
   * one writer), and the trigger is made again to name it. ADR 0010.
   */
  async countVersions(types: readonly string[]): Promise<void> {
    const have = (await this.storage.all<{ type: string }>('SELECT type FROM type_versions')).map((r) => r.type);
    const missing = types.filter((t) => !have.includes(t));
    if (missing.length || !(await this.hasVersionTrigger()))
      await this.storage.transaction(async (tx) => {
        if (this.storage.kind === 'postgres') await tx.run('LOCK TABLE history IN ACCESS EXCLUSIVE MODE');
        for (const type of missing)
          await tx.run(
            `INSERT INTO type_versions (type, n) SELECT ?, COUNT(*) FROM history WHERE type = ?
             ON CONFLICT (type) DO NOTHING`,
            [type, type],
          );
        const counted = await tx.all<{ type: string }>('SELECT type FROM type_versions ORDER BY type');
        for (const sql of versionTriggerSql(
          this.storage.kind,
          counted.map((r) => r.type),
        ))
          await tx.run(sql);
      });
    for (const type of types) this.counted.add(type);
  }

  private async hasVersionTrigger(): Promise<boolean> {
    const sql =
      this.storage.kind === 'sqlite'
        ? "SELECT 1 AS found FROM sqlite_master WHERE type = 'trigger' AND name = ?"
        : "SELECT 1 AS found FROM pg_trigger WHERE tgname = ? AND tgrelid = 'history'::regclass";
    return (await this.storage.get(sql, [VERSION_TRIGGER])) !== undefined;
  }

  /** The newest row id: a search's snapshot (rows written after it are left out of its later pages). */
  async lastRid(db: SqlExecutor = this.storage): Promise<number> {
    return Number((await db.get<{ m: number | null }>('SELECT MAX(rid) AS m FROM resources'))?.m ?? 0);
  }

  /**
   * A page of history, newest first: of everything, a type or one resource, written at or after
   * `since`, below the sequence number `before` (the paging cursor); `limit` rows and the total.
   */
  async historyPage(q: HistoryQuery): Promise<{ total: number; rows: (VersionRow & { seq: number })[] }> {
    const where: string[] = [];
    const params: SqlValue[] = [];
    const add = (clause: string, value: SqlValue | undefined) => {
      if (value === undefined) return;
      where.push(clause);
      params.push(value);
    };
    add('type = ?', q.type);
    add('id = ?', q.id);
    add('last_updated >= ?', q.since);
    const filter = where.length ? `WHERE ${where.join(' AND ')}` : '';
    const total = await this.storage.get<{ n: number }>(`SELECT COUNT(*) AS n FROM history ${filter}`, params);
    const page = q.before === undefined ? filter : `${filter ? `${filter} AND` : 'WHERE'} seq < ?`;
    const rows = await this.storage.all<VersionRow & { seq: number }>(
      `SELECT seq, type, id, version, last_updated, deleted, method, content FROM history ${page}
        ORDER BY seq DESC LIMIT ?`,
      [...params, ...(q.before === undefined ? [] : [q.before]), q.limit],
    );
    return { total: Number(total?.n ?? 0), rows };
  }

  /**
   * The sequence number of the history row `offset` rows from the oldest (of everything, a type or one
   * resource, since `since`): the cursor of a history's last page, found without walking the newer rows.
   */
  async historySeqFromOldest(q: Omit<HistoryQuery, 'before' | 'limit'>, offset: number): Promise<number | undefined> {
    const where: string[] = [];
    const params: SqlValue[] = [];
    for (const [clause, value] of [
      ['type = ?', q.type],
      ['id = ?', q.id],
      ['last_updated >= ?', q.since],
    ] as const) {
      if (value === undefined) continue;
      where.push(clause);
      params.push(value);
    }
    const filter = where.length ? `WHERE ${where.join(' AND ')}` : '';
    const row = await this.storage.get<{ seq: number }>(
      `SELECT seq FROM history ${filter} ORDER BY seq ASC LIMIT 1 OFFSET ?`,
      [...params, offset],
    );
    return row === undefined ? undefined : Number(row.seq);
  }

  /** Whether the stored resource `rid` of `type` refers to `target` through one of these reference parameters. */
  async refersTo(
    db: SqlExecutor,
    type: string,
    rid: number,
    params: readonly string[],
    target: string,
  ): Promise<boolean> {
    const [targetType, targetId] = target.split('/');
    const row = await db.get(
      `SELECT 1 AS ok FROM sp_reference WHERE rid = ? AND param IN (${params.map(() => '?').join(', ')})
       AND target_type = ? AND target_id = ?`,
      [rid, ...params.map((p) => paramId(type, p)), targetType, targetId],
    );
    return row !== undefined;
  }

  /** The ids of the `targetType` resources that resources of `type` refer to through `param`, in id order. */
  async referencedIds(
    type: string,
    param: string,
    targetType: string,
    db: SqlExecutor = this.storage,
  ): Promise<string[]> {
    const rows = await db.all<{ id: string }>(
      `SELECT DISTINCT target_id AS id FROM sp_reference WHERE param = ? AND target_type = ? ORDER BY target_id`,
      [paramId(type, param), targetType],
    );
    return rows.map((r) => r.id);
  }

  /** Serialises writers of one resource (and of a not-yet-existing id) until the transaction ends. */
  lockResource(tx: Tx, type: string, id: string): Promise<void> {
    return tx.lock(`res:${type}/${id}`);
  }

  /**
   * Writes a new version (or a deletion when `resource` is null) after `prev`, the current version the
   * caller read under the resource lock. Sets id and meta, appends history, replaces index rows.
   */
  async write(
    tx: Tx,
    type: string,
    id: string,
    prev: VersionRow | undefined,
    resource: Resource | null,
    method: WriteMethod,
  ): Promise<VersionRow> {
    const version = (prev?.version ?? 0) + 1;
    const now = this.clock.now();
    const lastUpdated = now.getTime();
    let content: string | null = null;
    if (resource) {
      const stamped = stamp(resource, id, version, now.toISOString());
      content = JSON.stringify(stamped);
      resource = stamped;
    }
    const deleted = resource ? 0 : 1;
    const rid = await this.insertVersion(tx, [type, id, version, lastUpdated, deleted, method, content]);
    if (resource?.resourceType === 'SearchParameter') this.onSearchParameter(resource);
    // a new resource has no index rows yet; a deletion keeps none
    if (prev || resource) await this.replaceIndex(tx, rid, resource, Boolean(prev));
    const row = { type, id, version, last_updated: lastUpdated, deleted, content, rid };
    if (tx instanceof HookedTx) tx.written.push(row);
    return row;
  }

  /**
   * A version into the history and as the current one; answers the current row's id. On PostgreSQL one
   * statement, the history's INSERT in a data-modifying WITH (PostgreSQL §7.8.4): a round trip less per
   * write. SQLite has no such WITH, and no round trips to spare. A second writer of the same version
   * fails on the history's unique key either way, and the resource row is left as it was.
   */
  private async insertVersion(tx: Tx, values: [string, string, number, number, number, WriteMethod, string | null]) {
    const [type, id, version, lastUpdated, deleted, , content] = values;
    const history =
      'INSERT INTO history (type, id, version, last_updated, deleted, method, content) VALUES (?, ?, ?, ?, ?, ?, ?)';
    const current = `INSERT INTO resources (type, id, version, last_updated, deleted, content) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (type, id) DO UPDATE SET version = excluded.version, last_updated = excluded.last_updated,
         deleted = excluded.deleted, content = excluded.content
       RETURNING rid`;
    const currentValues = [type, id, version, lastUpdated, deleted, content];
    try {
      if (this.storage.kind === 'postgres')
        return (await tx.get<{ rid: number }>(`WITH h AS (${history}) ${current}`, [...values, ...currentValues]))!.rid;
      await tx.run(history, values);
    } catch (err) {
      if (isUniqueViolation(err))
        throw new FhirError('conflict', `Version ${version} of ${type}/${id} was written concurrently`);
      throw err;
    }
    return (await tx.get<{ rid: number }>(current, currentValues))!.rid;
  }

  /** Replaces a stored resource's index rows with those the current definitions give (reindex). */
  reindexRow(tx: Tx, rid: number, resource: Resource): Promise<void> {
    return this.replaceIndex(tx, rid, resource, true);
  }

  /**
   * Runs `fn` in the deleting transaction with a deleted resource searchable as it was just before:
   * its row not deleted, with the version before, and that version's index rows; then deleted again and
   * without index rows. A search run in `fn` tells whether the resource matched it before the deletion
   * (a deletion keeps no index rows to match: the outbox's notification of deletions).
   */
  async asBeforeDeletion<T>(tx: Tx, deletion: VersionRow, before: VersionRow, fn: () => Promise<T>): Promise<T> {
    const rid = deletion.rid as number;
    const set = 'UPDATE resources SET deleted = ?, version = ?, last_updated = ?, content = ? WHERE rid = ?';
    await tx.run(set, [0, before.version, before.last_updated, before.content, rid]);
    await this.replaceIndex(tx, rid, JSON.parse(before.content as string) as Resource, false);
    const result = await fn();
    await tx.run(set, [1, deletion.version, deletion.last_updated, null, rid]);
    await this.replaceIndex(tx, rid, null, true);
    return result;
  }

  /** Drops the rid's index rows (when it may have some) and writes the resource's, if any. */
  private async replaceIndex(tx: Tx, rid: number, resource: Resource | null, hadRows: boolean): Promise<void> {
    if (hadRows) for (const table of INDEX_TABLES) await tx.run(`DELETE FROM ${table} WHERE rid = ?`, [rid]);
    if (resource) await this.insertIndex(tx, rid, resource.resourceType, this.extractor.extract(resource));
  }

  /** A resource's index rows: kept by a hooked transaction's buffer, or inserted at once. */
  private async insertIndex(tx: Tx, rid: number, type: string, rows: IndexRow[]): Promise<void> {
    const byTable = new Map<IndexTable, SqlValue[][]>();
    for (const r of rows) {
      // a resource stored leniently may hold U+0000, which PostgreSQL text cannot: the index drops it
      const values = [
        rid,
        paramId(type, r.param),
        ...r.values.map((v) => (typeof v === 'string' && v.includes('\u0000') ? v.replaceAll('\u0000', '') : v)),
      ];
      if (tx instanceof HookedTx) tx.index.add(r.table, values);
      else byTable.set(r.table, [...(byTable.get(r.table) ?? []), values]);
    }
    for (const [table, list] of byTable) await insertRows(tx, table, list);
  }
}

function isUniqueViolation(err: unknown): boolean {
  const e = err as { code?: string; message?: string };
  return e?.code === '23505' || e?.code === 'SQLITE_CONSTRAINT_UNIQUE' || /UNIQUE constraint/.test(e?.message ?? '');
}

/**
 * A resource as stored in a version: resourceType, id and meta (with the version and its time) first, as FHIR's own
 * JSON examples have them.
 */
export function stamp(resource: Resource, id: string, version: number, lastUpdated: string): Resource {
  const { resourceType, id: _ignored, meta, ...rest } = resource;
  return { resourceType, id, meta: { ...meta, versionId: String(version), lastUpdated }, ...rest } as Resource;
}

export function parseContent(row: VersionRow): Resource {
  return JSON.parse(row.content as string) as Resource;
}
