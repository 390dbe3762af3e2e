import type { SqlExecutor, Tx } from './types.js';

/**
 * The FHIR packages installed on this database (src/packages, docs/packages.md): one row per package
 * name — the version installed last, how (`store-only` or `install`), when, its manifest and the
 * resources it stored. What src/packages asks of the table, as named statements: SQL stays in storage.
 */
export interface InstalledPackage {
  name: string;
  version: string;
  mode: 'store-only' | 'install';
  /** When it was installed (epoch ms, by the server's clock). */
  installed: number;
  /** package.json as it was in the package. */
  manifest: string;
  /** JSON: the `Type/id` of every resource it stored, in the order they were stored. */
  resources: string;
}

const TABLE = 'fhir_packages';
const COLS = 'name, version, mode, installed, manifest, resources';

/** The table (schema.ts). */
export function packageTables(BIG: string): string[] {
  return [
    `CREATE TABLE IF NOT EXISTS ${TABLE} (
      name TEXT PRIMARY KEY,
      version TEXT NOT NULL,
      mode TEXT NOT NULL,
      installed ${BIG} NOT NULL,
      manifest TEXT NOT NULL,
      resources TEXT NOT NULL
    )`,
  ];
}

/** Every installed package, by name. */
export async function installedPackages(db: SqlExecutor): Promise<InstalledPackage[]> {
  const rows = await db.all<InstalledPackage & { installed: number | string }>(
    `SELECT ${COLS} FROM ${TABLE} ORDER BY name`,
  );
  return rows.map((r) => ({ ...r, installed: Number(r.installed) }));
}

/** Records a package as installed (the newer version replaces the row of its name). */
export async function recordPackage(tx: Tx, p: InstalledPackage): Promise<void> {
  await tx.run(
    `INSERT INTO ${TABLE} (${COLS}) VALUES (?, ?, ?, ?, ?, ?)
     ON CONFLICT (name) DO UPDATE SET version = excluded.version, mode = excluded.mode,
       installed = excluded.installed, manifest = excluded.manifest, resources = excluded.resources`,
    [p.name, p.version, p.mode, p.installed, p.manifest, p.resources],
  );
}
