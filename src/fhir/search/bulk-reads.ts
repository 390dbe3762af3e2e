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

/** Which resources of a type an export holds: its `_typeFilter`s and the Patient compartment. */
export interface Membership {
  type: string;
  /** `_typeFilter` searches of this type, OR-ed (Bulk Data: several filters of one type are a union). */
  filters: [string, string][][];
  /** The Patient compartment of these patients, or of every patient ('all'); absent: no compartment. */
  patients?: string[] | 'all';
}

/** What one read of a type asks for. */
export interface ExportSlice extends Membership {
  /** The snapshot: the newest history sequence number the export may show (its transactionTime). */
  snapshot: number;
  /** The cursor: versions after this sequence number. */
  afterSeq: number;
  /** `meta.lastUpdated` at or after `since` and at or before `until` (epoch ms). */
  since?: number;
  until?: number;
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

/** The parameters starting with `_` that are criteria (R4 §3.1.1.5: common parameters), not result ones. */
const CRITERIA = new Set(['_id', '_lastUpdated', '_tag', '_profile', '_security', '_source', '_has']);

/**
 * A `_typeFilter` search of `type` as a WHERE clause over `resources r` (the hooks applied:
 * terminology's `:in` …). Result parameters and includes have no place in it (400).
 */
export async function typeFilterWhere(svc: Services, type: string, query: [string, string][]): Promise<Sql> {
  const req = parseSearch(svc.defs, type, query, { defaultCount: 1, maxCount: 1 }, true);
  const result = query.find(([k]) => k.startsWith('_') && !CRITERIA.has(k.split(':')[0]));
  if (req.includes.length || req.sort.length || result)
    throw new FhirError('invalid', {
      message: `_typeFilter '${type}?…' may hold search criteria only, not '${result?.[0] ?? '_include/_sort'}'`,
      expression: '_typeFilter',
    });
  for (const hook of svc.searchHooks) await hook(svc, req);
  return compileWhere(req, svc.baseUrl, svc.clock.now().getTime());
}

/**
 * `column` holds the id of a current resource of the type in the patients' compartment (or a patient's).
 * Correlated, probed per row (the resource by type and id, then its reference rows by rid): a batch
 * costs what it reads, not what the whole compartment holds, so a large export reads in linear time.
 */
function compartmentOf(svc: Services, type: string, patients: string[] | 'all', column: string): Sql | undefined {
  const ids = patients === 'all' ? undefined : inList(patients.length ? patients : ['']);
  if (type === 'Patient') return ids && { sql: `${column} IN (${ids.sql})`, params: ids.params };
  const codes = svc.defs.compartments.get('Patient')?.members.get(type) ?? [];
  if (!codes.length) return { sql: '1 = 0', params: [] };
  const params = codes.map((c) => paramId(type, c));
  const target = ids ? ` AND c.target_id IN (${ids.sql})` : '';
  return {
    sql: `EXISTS (SELECT 1 FROM resources r CROSS JOIN sp_reference c WHERE r.type = ? AND r.id = ${column}
      AND c.rid = r.rid AND c.param IN (${params.map(() => '?').join(', ')}) AND c.target_type = 'Patient'${target})`,
    params: [type, ...params, ...(ids?.params ?? [])],
  };
}

/** What makes a resource of the type part of the export: its `_typeFilter`s and the compartment, on `column`. */
async function membership(svc: Services, s: Membership, column: string): Promise<Sql[]> {
  const out: Sql[] = [];
  if (s.filters.length) {
    const wheres = await Promise.all(s.filters.map((q) => typeFilterWhere(svc, s.type, q)));
    out.push({
      sql: anyOf(wheres.map((w) => `${column} IN (SELECT r.id FROM resources r WHERE ${w.sql})`)),
      params: wheres.flatMap((w) => w.params),
    });
  }
  const compartment = s.patients ? compartmentOf(svc, s.type, s.patients, column) : undefined;
  if (compartment) out.push(compartment);
  return out;
}

/** The rows of history that are the snapshot's last versions of the type, after the cursor. */
function snapshotRows(type: string, s: { afterSeq: number; snapshot: number }): Sql {
  return {
    // the last version at the snapshot: none newer up to it (history(type, id, seq) answers this)
    sql: `h.type = ? AND h.seq > ? AND h.seq <= ?
      AND NOT EXISTS (SELECT 1 FROM history n WHERE n.type = h.type AND n.id = h.id AND n.seq > h.seq AND n.seq <= ?)`,
    params: [type, s.afterSeq, s.snapshot, s.snapshot],
  };
}

async function conditions(svc: Services, s: ExportSlice): Promise<Sql> {
  const rows = snapshotRows(s.type, s);
  const parts = [rows.sql];
  const params: SqlValue[] = [...rows.params];
  if (!s.withDeleted) parts.push('h.deleted = 0');
  const add = (sql: string, values: SqlValue[]) => {
    parts.push(sql);
    params.push(...values);
  };
  if (s.since !== undefined) add('h.last_updated >= ?', [s.since]);
  if (s.until !== undefined) add('h.last_updated <= ?', [s.until]);
  for (const m of await membership(svc, s, 'h.id')) add(m.sql, m.params);
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

/**
 * `includeAssociatedData=LatestProvenanceResources` (Bulk Data IG): the next batch of the Provenance
 * that is, for some resource the export holds (`targets`: each exported type with its membership), the
 * latest one naming it in `Provenance.target` (the latest stored: the highest row id), as it was at
 * the snapshot.
 */
export async function latestProvenanceBatch(
  svc: Services,
  db: SqlExecutor,
  s: { snapshot: number; afterSeq: number; limit: number; targets: Membership[] },
): Promise<ExportRow[]> {
  const rows = snapshotRows('Provenance', s);
  const perType: Sql[] = [];
  for (const target of s.targets) {
    const parts = await membership(svc, target, 's.target_id');
    perType.push({
      sql: ['s.target_type = ?', ...parts.map((p) => p.sql)].join(' AND '),
      params: [target.type, ...parts.flatMap((p) => p.params)],
    });
  }
  if (!perType.length) return [];
  const param = paramId('Provenance', 'target');
  const found = await db.all<{ seq: number; id: string; last_updated: number; content: string }>(
    `SELECT h.seq AS seq, h.id AS id, h.last_updated AS last_updated, h.content AS content FROM history h
      WHERE ${rows.sql} AND h.deleted = 0 AND h.id IN (SELECT p.id FROM resources p WHERE p.rid IN (
        SELECT s.rid FROM sp_reference s WHERE s.param = ? AND ${anyOf(perType.map((t) => `(${t.sql})`))}
          AND NOT EXISTS (SELECT 1 FROM sp_reference l WHERE l.param = s.param AND l.target_type = s.target_type
                            AND l.target_id = s.target_id AND l.rid > s.rid)))
      ORDER BY h.seq LIMIT ?`,
    [...rows.params, param, ...perType.flatMap((t) => t.params), s.limit],
  );
  return found.map((r) => ({
    seq: Number(r.seq),
    id: r.id,
    deleted: false,
    lastUpdated: Number(r.last_updated),
    content: r.content,
  }));
}
