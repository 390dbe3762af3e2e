import { bulkTables } from './bulk-tables.js';
import { dpopTables } from './dpop-tables.js';
import { packageTables } from './package-tables.js';

/**
 * The database schema, shared by both backends. `${ID}` is the auto-increment key type and `${BIG}`
 * a 64-bit integer; everything else is portable SQL.
 *
 * - `resources`: the current version of each resource (rid = compact surrogate key for index joins).
 * - `history`: every version ever written (R4 §3.1.0.12: history is kept); `seq` orders system history.
 * - `sp_*`: search index rows by parameter type, written in the same transaction as the resource;
 *   `param` is the parameter's integer id (search/param-id.ts), which also implies the resource type;
 *   the search indexes end in `rid`, so a lookup never reads the table row;
 *   `grp` ties together the component rows of one composite value (NULL otherwise).
 * - `leases`: who holds a long job (a registry report run) and until when.
 * - `subscription_state`, `subscription_events`: the subscriptions' outbox (docs/subscriptions.md).
 * - `audit_journal`: the audit trail as it happens, before it becomes AuditEvent resources (docs/security.md).
 * - `dpop_jti`: the DPoP proofs' `jti` values seen by any node, until they expire (dpop-tables.ts).
 * - `bulk_jobs`, `bulk_files`: Bulk Data jobs and their NDJSON files (bulk-tables.ts, docs/bulk.md).
 * - `fhir_packages`: the FHIR packages installed (package-tables.ts, docs/packages.md).
 */
export function schemaSql(dialect: 'sqlite' | 'postgres'): string[] {
  const ID = dialect === 'sqlite' ? 'INTEGER PRIMARY KEY AUTOINCREMENT' : 'BIGSERIAL PRIMARY KEY';
  const BIG = dialect === 'sqlite' ? 'INTEGER' : 'BIGINT';
  // PostgreSQL: byte order for normalised strings, so prefix ranges (norm >= 'ab' AND norm < 'ab\uffff') are exact
  const C = dialect === 'postgres' ? ' COLLATE "C"' : '';
  const REAL = dialect === 'sqlite' ? 'REAL' : 'DOUBLE PRECISION';
  const idx = (table: string, cols: string) =>
    `CREATE INDEX IF NOT EXISTS ${table}_${cols.replace(/[^a-z]+/g, '_')} ON ${table} (${cols})`;
  return [
    `CREATE TABLE IF NOT EXISTS resources (
      rid ${ID},
      type TEXT NOT NULL,
      id TEXT NOT NULL,
      version INTEGER NOT NULL,
      last_updated ${BIG} NOT NULL,
      deleted INTEGER NOT NULL DEFAULT 0,
      content TEXT,
      UNIQUE (type, id)
    )`,
    idx('resources', 'type, last_updated'),
    `CREATE TABLE IF NOT EXISTS history (
      seq ${ID},
      type TEXT NOT NULL,
      id TEXT NOT NULL,
      version INTEGER NOT NULL,
      last_updated ${BIG} NOT NULL,
      deleted INTEGER NOT NULL DEFAULT 0,
      method TEXT NOT NULL,
      content TEXT,
      UNIQUE (type, id, version)
    )`,
    idx('history', 'type, seq'),
    idx('history', 'type, id, seq'),
    idx('history', 'last_updated'),
    ...versionCounting(dialect, BIG),
    `CREATE TABLE IF NOT EXISTS sp_token (rid ${BIG} NOT NULL, param INTEGER NOT NULL, system TEXT, code TEXT, text TEXT, grp INTEGER)`,
    idx('sp_token', 'param, code, system, rid'),
    idx('sp_token', 'rid, param'),
    `CREATE TABLE IF NOT EXISTS sp_string (rid ${BIG} NOT NULL, param INTEGER NOT NULL, norm TEXT${C} NOT NULL, exact TEXT NOT NULL, grp INTEGER)`,
    idx('sp_string', 'param, norm, rid'),
    idx('sp_string', 'rid, param'),
    `CREATE TABLE IF NOT EXISTS sp_reference (rid ${BIG} NOT NULL, param INTEGER NOT NULL, target_type TEXT, target_id TEXT, url TEXT, grp INTEGER)`,
    idx('sp_reference', 'param, target_id, target_type, rid'),
    idx('sp_reference', 'target_type, target_id'),
    idx('sp_reference', 'rid, param'),
    `CREATE TABLE IF NOT EXISTS sp_date (rid ${BIG} NOT NULL, param INTEGER NOT NULL, low ${BIG} NOT NULL, high ${BIG} NOT NULL, grp INTEGER)`,
    idx('sp_date', 'param, low, high, rid'),
    idx('sp_date', 'rid, param'),
    `CREATE TABLE IF NOT EXISTS sp_number (rid ${BIG} NOT NULL, param INTEGER NOT NULL, low ${REAL} NOT NULL, high ${REAL} NOT NULL, grp INTEGER)`,
    idx('sp_number', 'param, low, high, rid'),
    idx('sp_number', 'rid, param'),
    `CREATE TABLE IF NOT EXISTS sp_quantity (rid ${BIG} NOT NULL, param INTEGER NOT NULL, system TEXT, code TEXT, low ${REAL} NOT NULL, high ${REAL} NOT NULL, grp INTEGER)`,
    idx('sp_quantity', 'param, low, high, rid'),
    idx('sp_quantity', 'rid, param'),
    `CREATE TABLE IF NOT EXISTS sp_uri (rid ${BIG} NOT NULL, param INTEGER NOT NULL, value TEXT${C} NOT NULL, grp INTEGER)`,
    idx('sp_uri', 'param, value, rid'),
    idx('sp_uri', 'rid, param'),
    // named leases: one holder at a time across processes, until released or expired (storage/lease.ts)
    `CREATE TABLE IF NOT EXISTS leases (name TEXT PRIMARY KEY, holder TEXT NOT NULL, expires ${BIG} NOT NULL)`,
    ...areaTables(ID, BIG),
  ];
}

/**
 * Versions written per type, for the types whose count is a cache's generation (store.countVersions),
 * kept by the database itself, so every node's writes are counted whatever version it runs. The trigger
 * that counts (versionTriggerSql) names the counted types in its WHEN, so other writes pay nothing.
 */
function versionCounting(dialect: 'sqlite' | 'postgres', BIG: string): string[] {
  const table = `CREATE TABLE IF NOT EXISTS type_versions (type TEXT PRIMARY KEY, n ${BIG} NOT NULL)`;
  if (dialect === 'sqlite') return [table];
  return [
    table,
    `CREATE OR REPLACE FUNCTION forlop_count_version() RETURNS trigger LANGUAGE plpgsql AS $$
     BEGIN
       UPDATE type_versions SET n = n + 1 WHERE type = NEW.type;
       RETURN NULL;
     END $$`,
  ];
}

/** The name of the trigger on history that keeps `type_versions`. */
export const VERSION_TRIGGER = 'history_counts_versions';

/**
 * The trigger that adds each version of one of `types` written to history to the type's count, made
 * again whenever the counted types change (store.countVersions, in the transaction that adds their
 * rows). A row trigger with a WHEN: a write of any other type does not run it.
 */
export function versionTriggerSql(dialect: 'sqlite' | 'postgres', types: readonly string[]): string[] {
  const list = types
    .filter((t) => /^[A-Za-z]+$/.test(t))
    .map((t) => `'${t}'`)
    .join(', ');
  if (dialect === 'sqlite')
    return [
      `DROP TRIGGER IF EXISTS ${VERSION_TRIGGER}`,
      `CREATE TRIGGER ${VERSION_TRIGGER} AFTER INSERT ON history WHEN NEW.type IN (${list})
       BEGIN UPDATE type_versions SET n = n + 1 WHERE type = NEW.type; END`,
    ];
  return [
    `DROP TRIGGER IF EXISTS ${VERSION_TRIGGER} ON history`,
    `CREATE TRIGGER ${VERSION_TRIGGER} AFTER INSERT ON history FOR EACH ROW WHEN (NEW.type IN (${list}))
     EXECUTE FUNCTION forlop_count_version()`,
  ];
}

/** The tables of the areas around the core, each declared beside the statements that use it. */
function areaTables(ID: string, BIG: string): string[] {
  return [
    ...subscriptionTables(BIG),
    // appended in the audited request's transaction (or a batch of reads'); no index rows until materialised
    `CREATE TABLE IF NOT EXISTS audit_journal (seq ${ID}, id TEXT NOT NULL, recorded ${BIG} NOT NULL, body TEXT NOT NULL)`,
    ...dpopTables(BIG),
    ...bulkTables(BIG),
    ...packageTables(BIG),
  ];
}

/**
 * The subscriptions' tables (src/subscriptions): each subscription's criteria, status and counters,
 * mirrored from the Subscription in the transaction that writes it (events_since_start numbers its events
 * without gaps), and the transactional outbox: an event per matching write, in the writer's transaction.
 */
function subscriptionTables(BIG: string): string[] {
  return [
    `CREATE TABLE IF NOT EXISTS subscription_state (
      id TEXT PRIMARY KEY,
      status TEXT NOT NULL,
      criteria_type TEXT NOT NULL,
      criteria TEXT NOT NULL,
      events_since_start ${BIG} NOT NULL DEFAULT 0,
      delivered ${BIG} NOT NULL DEFAULT 0,
      attempts INTEGER NOT NULL DEFAULT 0,
      next_attempt ${BIG} NOT NULL DEFAULT 0,
      last_error TEXT,
      ends ${BIG},
      topic TEXT,
      heartbeat_ms ${BIG},
      last_sent ${BIG} NOT NULL DEFAULT 0,
      channel TEXT NOT NULL DEFAULT 'rest-hook'
    )`,
    'CREATE INDEX IF NOT EXISTS subscription_state_criteria_type_status ON subscription_state (criteria_type, status)',
    `CREATE TABLE IF NOT EXISTS subscription_events (
      subscription TEXT NOT NULL,
      number ${BIG} NOT NULL,
      type TEXT NOT NULL,
      id TEXT NOT NULL,
      version INTEGER NOT NULL,
      created ${BIG} NOT NULL,
      PRIMARY KEY (subscription, number)
    )`,
  ];
}

export const INDEX_TABLES = [
  'sp_token',
  'sp_string',
  'sp_reference',
  'sp_date',
  'sp_number',
  'sp_quantity',
  'sp_uri',
] as const;
