import { placeholders, type SqlValue } from '../../storage/types.js';
import type { Services } from '../services.js';
import type { VersionRow } from '../store.js';
import { dateParamIds } from './date-classes.js';
import { paramId } from './param-id.js';
import { parseSearch } from './params.js';
import { compileWhere } from './sql.js';

/**
 * The SQL of `Patient/$everything` (src/fhir/operations/everything/): one statement over the search
 * index for the whole record, as row ids, then the page's rows.
 */

/** What narrows the record: `_since` (epoch ms) and the care dates of `start`/`end`. */
export interface RecordFilter {
  care?: { low: number; high: number };
  since?: number;
}

/** A piece of SQL with its bound values. */
export interface Sql {
  sql: string;
  params: SqlValue[];
}

/**
 * The shared resources the issue names as part of a patient's record: the Practitioners and
 * Organizations its resources refer to, and the PlanDefinitions its pathways instantiate. (R4 leaves
 * "other resources referenced" to the server; these are the ones a pathway record needs to be read.)
 */
export const REFERENCED = ['Practitioner', 'Organization', 'PlanDefinition'] as const;

/**
 * A resource's care date (R4 Patient-everything `start`/`end`: "care dates, not record currency
 * dates"): its first search parameter of type date among these, in this order. A type with none of
 * them, or a resource without a value, is always kept.
 */
const CARE_DATE_CODES = [
  'date',
  'period',
  'onset-date',
  'authored',
  'authoredon',
  'identified',
  'occurrence',
  'sent',
  'recorded',
  'created',
  'issued',
  'start-date',
];

export interface Scope {
  /** The compartment member types to read (after `_type` and the caller's reach), with their parameters. */
  members: Map<string, string[]>;
  /** Whether the Patient resources themselves are shown. */
  patient: boolean;
  /** Which of REFERENCED (and whether Provenance pointing into the compartment) to add. */
  referenced: string[];
  provenance: boolean;
}

/** The care-date index ids of the member types (each id is one type's, so one list serves all types). */
function careDateIds(svc: Services, types: Iterable<string>): number[] {
  const out: number[] = [];
  for (const type of types) {
    const params = svc.defs.searchParams.get(type);
    const code = CARE_DATE_CODES.find((c) => params?.get(c)?.type === 'date');
    if (code) out.push(...dateParamIds(type, code));
  }
  return out;
}

/** Conditions on a resource row `alias` every result meets: current, in the snapshot, updated since. */
function rowFilter(alias: string, input: RecordFilter, snapshot: number): Sql {
  const since = input.since === undefined ? '' : ` AND ${alias}.last_updated >= ?`;
  return {
    sql: `${alias}.deleted = 0 AND ${alias}.rid <= ?${since}`,
    params: [snapshot, ...(input.since === undefined ? [] : [input.since])],
  };
}

/** The compartment's resources (CTE `m`): members pointing at the patients, and the patients. */
function compartment(svc: Services, scope: Scope, patients: Sql, input: RecordFilter, snapshot: number): Sql {
  const parts: Sql[] = [];
  const ids = [...scope.members].flatMap(([type, codes]) => codes.map((c) => paramId(type, c)));
  const filter = rowFilter('r', input, snapshot);
  if (ids.length) {
    let sql = `SELECT r.rid FROM resources r WHERE r.rid IN (SELECT rid FROM sp_reference WHERE param IN
      (${placeholders(ids)}) AND target_type = 'Patient' AND target_id IN (SELECT p.id FROM (${patients.sql}) p))
      AND ${filter.sql}`;
    const params: SqlValue[] = [...ids, ...patients.params, ...filter.params];
    const dated = input.care ? careDateIds(svc, scope.members.keys()) : [];
    if (input.care && dated.length) {
      // kept: no care date at all, or one that overlaps the range
      sql += ` AND (NOT EXISTS (SELECT 1 FROM sp_date d WHERE d.rid = r.rid AND d.param IN (${placeholders(dated)}))
        OR EXISTS (SELECT 1 FROM sp_date d WHERE d.rid = r.rid AND d.param IN (${placeholders(dated)})
        AND d.low <= ? AND d.high >= ?))`;
      params.push(...dated, ...dated, input.care.high, input.care.low);
    }
    parts.push({ sql, params });
  }
  if (scope.patient) {
    parts.push({
      sql: `SELECT r.rid FROM resources r WHERE r.type = 'Patient' AND r.id IN (SELECT p.id FROM (${patients.sql}) p)
        AND ${filter.sql}`,
      params: [...patients.params, ...filter.params],
    });
  }
  if (!parts.length) return { sql: 'SELECT rid FROM resources WHERE 1 = 0', params: [] };
  return { sql: parts.map((p) => p.sql).join(' UNION '), params: parts.flatMap((p) => p.params) };
}

/** Shared resources the compartment's resources refer to: literally, or a PlanDefinition by canonical url. */
function referencedBy(scope: Scope, input: RecordFilter, snapshot: number): Sql | undefined {
  if (!scope.referenced.length) return undefined;
  const filter = rowFilter('t', input, snapshot);
  const canonical = scope.referenced.includes('PlanDefinition')
    ? ` UNION SELECT u.rid FROM sp_uri u WHERE u.param = ? AND u.value IN
        (SELECT s.url FROM sp_reference s WHERE s.rid IN (SELECT rid FROM m) AND s.url IS NOT NULL)`
    : '';
  // driven from the compartment's rows (m → their references → the target), never from the targets:
  // a shared Organization is referred to by every patient's resources
  return {
    sql: `SELECT t.rid FROM resources t WHERE t.rid IN (
        SELECT x.rid FROM m CROSS JOIN sp_reference s CROSS JOIN resources x
        WHERE s.rid = m.rid AND s.target_type IN (${placeholders(scope.referenced)})
          AND x.type = s.target_type AND x.id = s.target_id${canonical}
      ) AND t.type IN (${placeholders(scope.referenced)}) AND ${filter.sql}`,
    params: [
      ...scope.referenced,
      ...(canonical ? [paramId('PlanDefinition', 'url')] : []),
      ...scope.referenced,
      ...filter.params,
    ],
  };
}

/**
 * Provenance whose target is one of the compartment's resources (R4 Provenance.target); the index key
 * is Provenance's own, so no type test is needed (one would let the planner scan every Provenance).
 */
function provenanceOf(scope: Scope, input: RecordFilter, snapshot: number): Sql | undefined {
  if (!scope.provenance) return undefined;
  const filter = rowFilter('t', input, snapshot);
  return {
    sql: `SELECT t.rid FROM resources t WHERE t.rid IN (
        SELECT s.rid FROM m CROSS JOIN resources x CROSS JOIN sp_reference s
        WHERE x.rid = m.rid AND s.param = ? AND s.target_id = x.id AND s.target_type = x.type
      ) AND ${filter.sql}`,
    params: [paramId('Provenance', 'target'), ...filter.params],
  };
}

/**
 * `WITH m AS (…), e AS (…)`: the rids of everything in one snapshot — the compartment (m) and what it
 * refers to; each resource once (UNION). `patients` selects the patients' ids (column `id`).
 */
function everythingCte(svc: Services, scope: Scope, patients: Sql, input: RecordFilter, snapshot: number): Sql {
  const m = compartment(svc, scope, patients, input, snapshot);
  const more = [referencedBy(scope, input, snapshot), provenanceOf(scope, input, snapshot)].filter(
    (x): x is Sql => x !== undefined,
  );
  const e = ['SELECT rid FROM m', ...more.map((x) => x.sql)].join(' UNION ');
  return { sql: `WITH m AS (${m.sql}), e AS (${e})`, params: [...m.params, ...more.flatMap((x) => x.params)] };
}

/**
 * The ids of the patients whose records are asked for (SELECT … AS id), as the caller may see them:
 * one patient at instance level, every patient at type level — both through the access policy's limit
 * on a Patient search, so a `patient/` token's type-level call covers its own patient only.
 */
function patientIds(svc: Services, id: string | undefined, snapshot: number): Sql {
  const query: [string, string][] = id ? [['_id', id]] : [];
  const sreq = parseSearch(svc.defs, 'Patient', query, svc.limits, true);
  svc.access.limitSearch(svc, 'Patient', sreq.criteria);
  sreq.snapshot = snapshot;
  const where = compileWhere(sreq, svc.baseUrl, svc.clock.now().getTime());
  return { sql: `SELECT r.id AS id FROM resources r WHERE ${where.sql}`, params: where.params };
}

const COLUMNS = 'r.rid, r.type, r.id, r.version, r.last_updated, r.deleted, r.content';

/**
 * One page of a patient's record (or every patient's the caller may see, with no `id`), in a stable
 * order (the Patient first, then as stored), and the total: the set is evaluated once, as rids only,
 * and only the page's rows are read in full.
 */
export async function everythingPage(
  svc: Services,
  scope: Scope,
  id: string | undefined,
  filter: RecordFilter,
  at: { snapshot: number; offset: number; count: number },
): Promise<{ rows: VersionRow[]; total: number }> {
  const cte = everythingCte(svc, scope, patientIds(svc, id, at.snapshot), filter, at.snapshot);
  const db = svc.store.storage;
  const all = await db.all<{ rid: number }>(
    `${cte.sql} SELECT r.rid FROM resources r WHERE r.rid IN (SELECT rid FROM e)
     ORDER BY CASE WHEN r.type = 'Patient' THEN 0 ELSE 1 END, r.rid`,
    cte.params,
  );
  const rids = all.slice(at.offset, at.offset + at.count).map((r) => Number(r.rid));
  if (!rids.length) return { rows: [], total: all.length };
  const rows = await db.all<VersionRow>(
    `SELECT ${COLUMNS} FROM resources r WHERE r.rid IN (${placeholders(rids)})`,
    rids,
  );
  const order = new Map(rids.map((rid, i) => [rid, i]));
  rows.sort((a, b) => (order.get(Number(a.rid)) ?? 0) - (order.get(Number(b.rid)) ?? 0));
  return { rows, total: all.length };
}
