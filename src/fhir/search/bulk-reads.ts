import type { SqlExecutor, SqlValue } from '../../storage/types.js';
import { FhirError } from '../errors.js';
import type { Services } from '../services.js';
import { paramId } from './param-id.js';
import { parseSearch } from './params.js';
import { compileWhere } from './sql.js';
import { anyOf, inList } from './sql-lists.js';

/**
 * The reads of a Bulk Data export (src/bulk): one type's versions as they were at the export's
 * snapshot, a batch at a time after a cursor, narrowed by `_since`/`_until`, `_typeFilter` searches and
 * the Patient compartment. The SQL stays here, beside the search compiler the filters go through.
 */

/** What one read of a type asks for. */
export interface ExportSlice {
  type: string;
  /** The snapshot: the newest history sequence number the export may show (its transactionTime). */
  snapshot: number;
  /** The cursor: versions after this sequence number. */
  afterSeq: number;
  /** `meta.lastUpdated` at or after `since` and at or before `until` (epoch ms). */
  since?: number;
  until?: number;
  /** `_typeFilter` searches of this type, OR-ed (Bulk Data: several filters of one type are a union). */
  filters: [string, string][][];
  /** The Patient compartment of these patients, or of every patient ('all'); absent: no compartment. */
  patients?: string[] | 'all';
  /** With `_since`: deleted resources too (as rows with `deleted`), for the manifest's `deleted` files. */
  withDeleted: boolean;
  limit: number;
}

/** One resource as it was at the snapshot: its last version then (a deletion when `deleted`). */
export interface ExportRow {
  seq: number;
  id: string;
  deleted: boolean;
  /** meta.lastUpdated (epoch ms). */
  lastUpdated: number;
  content: string | null;
}

interface Sql {
  sql: string;
  params: SqlValue[];
}

/**
 * A `_typeFilter` search of `type` as a WHERE clause over `resources r` (the hooks applied:
 * terminology's `:in` …). Result parameters and includes have no place in it (400).
 */
export async function typeFilterWhere(svc: Services, type: string, query: [string, string][]): Promise<Sql> {
  const req = parseSearch(svc.defs, type, query, { defaultCount: 1, maxCount: 1 }, true);
  const result = query.find(([k]) => k.startsWith('_') && !['_id', '_lastUpdated', '_tag', '_profile'].includes(k));
  if (req.includes.length || req.sort.length || result)
    throw new FhirError('invalid', {
      message: `_typeFilter '${type}?…' may hold search criteria only, not '${result?.[0] ?? '_include/_sort'}'`,
      expression: '_typeFilter',
    });
  for (const hook of svc.searchHooks) await hook(svc, req);
  return compileWhere(req, svc.baseUrl, svc.clock.now().getTime());
}

/** The current resources of the type in the patients' compartment (or the patients themselves). */
function compartmentOf(svc: Services, type: string, patients: string[] | 'all'): Sql | undefined {
  const ids = patients === 'all' ? undefined : inList(patients.length ? patients : ['']);
  if (type === 'Patient') return ids && { sql: `h.id IN (${ids.sql})`, params: ids.params };
  const codes = svc.defs.compartments.get('Patient')?.members.get(type) ?? [];
  if (!codes.length) return { sql: '1 = 0', params: [] };
  const params = codes.map((c) => paramId(type, c));
  const target = ids ? ` AND target_id IN (${ids.sql})` : '';
  return {
    sql: `h.id IN (SELECT r.id FROM resources r WHERE r.type = ? AND r.rid IN (SELECT rid FROM sp_reference
      WHERE param IN (${params.map(() => '?').join(', ')}) AND target_type = 'Patient'${target}))`,
    params: [type, ...params, ...(ids?.params ?? [])],
  };
}

async function conditions(svc: Services, s: ExportSlice): Promise<Sql> {
  const parts = ['h.type = ?', 'h.seq > ?', 'h.seq <= ?'];
  const params: SqlValue[] = [s.type, s.afterSeq, s.snapshot];
  // the last version at the snapshot: none newer up to it (history(type, id, seq) answers this)
  parts.push(
    'NOT EXISTS (SELECT 1 FROM history n WHERE n.type = h.type AND n.id = h.id AND n.seq > h.seq AND n.seq <= ?)',
  );
  params.push(s.snapshot);
  if (!s.withDeleted) parts.push('h.deleted = 0');
  const add = (sql: string, values: SqlValue[]) => {
    parts.push(sql);
    params.push(...values);
  };
  if (s.since !== undefined) add('h.last_updated >= ?', [s.since]);
  if (s.until !== undefined) add('h.last_updated <= ?', [s.until]);
  if (s.filters.length) {
    const wheres = await Promise.all(s.filters.map((q) => typeFilterWhere(svc, s.type, q)));
    parts.push(anyOf(wheres.map((w) => `h.id IN (SELECT r.id FROM resources r WHERE ${w.sql})`)));
    params.push(...wheres.flatMap((w) => w.params));
  }
  const compartment = s.patients ? compartmentOf(svc, s.type, s.patients) : undefined;
  if (compartment) add(compartment.sql, compartment.params);
  return { sql: parts.join(' AND '), params };
}

/**
 * The next batch of a type's resources as they were at the snapshot, in history order: versions
 * written after the snapshot are never shown, so a write made while the export runs is left to the
 * next `_since` export. The filters and the compartment are evaluated on the search index as it is
 * when the batch is read (the index holds current versions only).
 */
export async function exportBatch(svc: Services, db: SqlExecutor, s: ExportSlice): Promise<ExportRow[]> {
  const where = await conditions(svc, s);
  const rows = await db.all<{ seq: number; id: string; deleted: number; last_updated: number; content: string | null }>(
    `SELECT h.seq AS seq, h.id AS id, h.deleted AS deleted, h.last_updated AS last_updated, h.content AS content
       FROM history h WHERE ${where.sql} ORDER BY h.seq LIMIT ?`,
    [...where.params, s.limit],
  );
  return rows.map((r) => ({
    seq: Number(r.seq),
    id: r.id,
    deleted: Number(r.deleted) === 1,
    lastUpdated: Number(r.last_updated),
    content: r.content,
  }));
}

/** The newest history sequence number: an export's snapshot. */
export async function lastSeq(db: SqlExecutor): Promise<number> {
  return Number((await db.get<{ m: number | null }>('SELECT MAX(seq) AS m FROM history'))?.m ?? 0);
}

/** The resource types with at least one version at or before the snapshot (what a system export walks). */
export async function typesWithVersions(db: SqlExecutor, snapshot: number): Promise<string[]> {
  const rows = await db.all<{ type: string }>('SELECT DISTINCT type FROM history WHERE seq <= ? ORDER BY type', [
    snapshot,
  ]);
  return rows.map((r) => r.type);
}
