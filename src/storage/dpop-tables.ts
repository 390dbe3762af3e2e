import type { Storage } from './types.js';

/**
 * The DPoP replay cache (`dpop_jti`, schema.ts): every proof's `jti` seen by any API node on this
 * database, with the key that signed it, kept until its proof could no longer be accepted anyway
 * (src/security/dpop-replay.ts). What the security area asks of it, as named statements.
 */
export function dpopTables(BIG: string): string[] {
  return [
    `CREATE TABLE IF NOT EXISTS dpop_jti (jkt TEXT NOT NULL, jti TEXT NOT NULL, expires ${BIG} NOT NULL, PRIMARY KEY (jkt, jti))`,
    'CREATE INDEX IF NOT EXISTS dpop_jti_expires ON dpop_jti (expires)',
  ];
}

/** Removes the jtis whose proofs are past any acceptance window: their replay is refused by `iat` already. */
export async function expireJtis(storage: Storage, now: number): Promise<number> {
  const { changes } = await storage.transaction((tx) => tx.run('DELETE FROM dpop_jti WHERE expires < ?', [now]));
  return changes;
}
