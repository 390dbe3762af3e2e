import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Resource } from '@medplum/fhirtypes';
import { loadDefinitions } from '../src/fhir/definitions.js';
import { IndexExtractor, type IndexTable } from '../src/fhir/search/extract.js';
import { insertRows } from '../src/fhir/search/index-buffer.js';
import { paramId } from '../src/fhir/search/param-id.js';
import { stamp } from '../src/fhir/store.js';
import { schemaSql } from '../src/storage/schema.js';
import type { SqlExecutor, SqlValue } from '../src/storage/types.js';
import { benchPatient, PersonNumbers } from './patients.js';

/** One resource as the store would write it: its JSON and its index rows (rid left for the insert). */
interface Prepared {
  id: string;
  content: string;
  rows: { table: IndexTable; values: SqlValue[] }[];
}

function prepare(n: number): Prepared[] {
  const extractor = new IndexExtractor(loadDefinitions());
  const people = new PersonNumbers(1_000_000);
  const now = new Date().toISOString();
  return Array.from({ length: n }, (_, i) => {
    const resource = stamp(benchPatient(people.take()) as Resource, `floor-${i}`, 1, now);
    const rows = extractor
      .extract(resource)
      .map((r) => ({ table: r.table, values: [paramId('Patient', r.param), ...r.values] }));
    return { id: resource.id as string, content: JSON.stringify(resource), rows };
  });
}

/**
 * Inserts the prepared resources in transactions of `group` (a transaction Bundle's), with or without
 * their index rows, as the store does: history, current row, index rows in multi-row INSERTs per table.
 * Answers resources per second.
 */
async function ingest(resources: Prepared[], group: number, withIndex: boolean): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'forlop-floor-'));
  const db = new Database(join(dir, 'floor.db'));
  const exec = executorOf(db);
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL'); // durable at COMMIT, as the server's answer promises
    db.pragma('cache_size = -65536');
    for (const sql of schemaSql('sqlite')) db.exec(sql);
    const history = db.prepare(
      `INSERT INTO history (type, id, version, last_updated, deleted, method, content) VALUES ('Patient', ?, 1, ?, 0, 'POST', ?)`,
    );
    const current = db.prepare(
      `INSERT INTO resources (type, id, version, last_updated, deleted, content) VALUES ('Patient', ?, 1, ?, 0, ?) RETURNING rid`,
    );
    const started = performance.now();
    for (let i = 0; i < resources.length; i += group) {
      db.exec('BEGIN IMMEDIATE');
      const byTable = new Map<IndexTable, SqlValue[][]>();
      for (const r of resources.slice(i, i + group)) {
        history.run(r.id, Date.now(), r.content);
        const { rid } = current.get(r.id, Date.now(), r.content) as { rid: number };
        if (!withIndex) continue;
        for (const row of r.rows) byTable.set(row.table, [...(byTable.get(row.table) ?? []), [rid, ...row.values]]);
      }
      for (const [table, rows] of byTable) await insertRows(exec, table, rows);
      db.exec('COMMIT');
    }
    return resources.length / ((performance.now() - started) / 1000);
  } finally {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The connection as the server's storage port, statements prepared once: the index rows go in as the server's do. */
function executorOf(db: Database.Database): SqlExecutor {
  const prepared = new Map<string, Database.Statement>();
  const stmt = (sql: string) => prepared.get(sql) ?? prepared.set(sql, db.prepare(sql)).get(sql)!;
  return {
    all: async <T extends object>(sql: string, p: readonly SqlValue[] = []) => stmt(sql).all(...p) as T[],
    get: async <T extends object>(sql: string, p: readonly SqlValue[] = []) => stmt(sql).get(...p) as T | undefined,
    run: async (sql: string, p: readonly SqlValue[] = []) => ({ changes: stmt(sql).run(...p).changes }),
  };
}

/**
 * Issue 21's floor for Bundle ingest: what SQLite itself takes to store the rows the server stores for
 * `n` bench Patients — history, current row, index rows — in transactions of 100, durable at COMMIT,
 * with no HTTP, JSON parsing, validation or index extraction (all done beforehand). The server's Bundle
 * figure beside it tells how much of a write is the database's and how much is ours. Without the
 * index rows, the same: what the search index costs.
 */
export async function ingestFloor(
  n: number,
): Promise<{ rowsPerResource: number; withIndex: number; withoutIndex: number }> {
  const resources = prepare(n);
  const rows = resources.reduce((sum, r) => sum + r.rows.length, 0);
  return {
    rowsPerResource: rows / n,
    withIndex: await ingest(resources, 100, true),
    withoutIndex: await ingest(resources, 100, false),
  };
}
