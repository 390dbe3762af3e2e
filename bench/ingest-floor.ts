import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Resource } from '@medplum/fhirtypes';
import { loadDefinitions } from '../src/fhir/definitions.js';
import { IndexExtractor, INDEX_COLUMNS, type IndexTable } from '../src/fhir/search/extract.js';
import { paramId } from '../src/fhir/search/param-id.js';
import { stamp } from '../src/fhir/store.js';
import { schemaSql } from '../src/storage/schema.js';
import { benchPatient, PersonNumbers } from './patients.js';

/** One resource as the store would write it: its JSON and its index rows (rid left for the insert). */
interface Prepared {
  id: string;
  content: string;
  rows: { table: IndexTable; values: (string | number | null)[] }[];
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
function ingest(resources: Prepared[], group: number, withIndex: boolean): number {
  const dir = mkdtempSync(join(tmpdir(), 'forlop-floor-'));
  const db = new Database(join(dir, 'floor.db'));
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
      const byTable = new Map<IndexTable, (string | number | null)[][]>();
      for (const r of resources.slice(i, i + group)) {
        history.run(r.id, Date.now(), r.content);
        const { rid } = current.get(r.id, Date.now(), r.content) as { rid: number };
        if (!withIndex) continue;
        for (const row of r.rows) byTable.set(row.table, [...(byTable.get(row.table) ?? []), [rid, ...row.values]]);
      }
      for (const [table, rows] of byTable) insertRows(db, table, rows);
      db.exec('COMMIT');
    }
    return resources.length / ((performance.now() - started) / 1000);
  } finally {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

function insertRows(db: Database.Database, table: IndexTable, rows: (string | number | null)[][]): void {
  const cols = ['rid', 'param', ...INDEX_COLUMNS[table]];
  for (let i = 0; i < rows.length; i += 100) {
    const chunk = rows.slice(i, i + 100);
    const tuple = `(${cols.map(() => '?').join(', ')})`;
    db.prepare(`INSERT INTO ${table} (${cols.join(', ')}) VALUES ${chunk.map(() => tuple).join(', ')}`).run(
      ...chunk.flat(),
    );
  }
}

/**
 * Issue 21's floor for Bundle ingest: what SQLite itself takes to store the rows the server stores for
 * `n` bench Patients — history, current row, index rows — in transactions of 100, durable at COMMIT,
 * with no HTTP, JSON parsing, validation or index extraction (all done beforehand). The server's Bundle
 * figure beside it tells how much of a write is the database's and how much is ours. Without the
 * index rows, the same: what the search index costs.
 */
export function ingestFloor(n: number): { rowsPerResource: number; withIndex: number; withoutIndex: number } {
  const resources = prepare(n);
  const rows = resources.reduce((sum, r) => sum + r.rows.length, 0);
  return {
    rowsPerResource: rows / n,
    withIndex: ingest(resources, 100, true),
    withoutIndex: ingest(resources, 100, false),
  };
}
