import type { SqlExecutor } from './types.js';

/** Asks the database the cheapest question there is; rejects when it cannot answer (health and readiness). */
export async function ping(db: SqlExecutor): Promise<void> {
  await db.get('SELECT 1 AS ok');
}
