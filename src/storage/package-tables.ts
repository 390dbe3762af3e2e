import type { SqlExecutor, Tx } from './types.js';

/**
 * The FHIR packages installed on this database (src/packages, docs/packages.md): one row per package
 * name — the version installed last, how (`store-only` or `install`), when, its manifest and the
 * resources it stored. What src/packages asks of the table, as named statements: SQL stays in storage.
 *
 * The table is created by the first installation, under the installation's lock (`ensurePackageTable`),
 * so a database that never installs a package has none and the shared schema stays as it is.
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

/** Creates the table when it is missing; call with the installation lock held (two nodes may install at once). */
export async function ensurePackageTable(tx: Tx): Promise<void> {
  await tx.run(
    `CREATE TABLE IF NOT EXISTS ${TABLE} (
      name TEXT PRIMARY KEY,
      version TEXT NOT NULL,
      mode TEXT NOT NULL,
      installed BIGINT NOT NULL,
      manifest TEXT NOT NULL,
      resources TEXT NOT NULL
    )`,
  );
}

/** Every installed package, by name; none when nothing was ever installed (no table yet). */
export async function installedPackages(db: SqlExecutor): Promise<InstalledPackage[]> {
  const rows = await db.all<InstalledPackage & { installed: number | string }>(
    `SELECT ${COLS} FROM ${TABLE} ORDER BY name`,
  );
  return rows.map((r) => ({ ...r, installed: Number(r.installed) }));
}

/** Whether the table exists yet (a read before any installation must not fail). */
export async function hasPackageTable(db: SqlExecutor, dialect: 'sqlite' | 'postgres'): Promise<boolean> {
  const row =
    dialect === 'sqlite'
      ? await db.get<{ name: string | null }>(`SELECT name FROM sqlite_master WHERE type = 'table' AND name = ?`, [
          TABLE,
        ])
      : await db.get<{ name: string | null }>(`SELECT to_regclass(?)::text AS name`, [TABLE]);
  return Boolean(row?.name);
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
