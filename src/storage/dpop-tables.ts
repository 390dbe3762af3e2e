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

/**
 * Records a proof's `jti`: true when it is new, false when any node has recorded it before. One
 * INSERT that does nothing on a conflict, in a transaction of its own (the database decides between
 * two nodes racing on one jti: exactly one of them inserts it). Answered once committed, not once on
 * disk: a jti lost in a power cut belongs to a proof whose 60 s are over before the machine is back.
 */
export async function recordJti(storage: Storage, jkt: string, jti: string, expires: number): Promise<boolean> {
  const insert = 'INSERT INTO dpop_jti (jkt, jti, expires) VALUES (?, ?, ?) ON CONFLICT DO NOTHING';
  const { changes } = await storage.transaction((tx) => tx.run(insert, [jkt, jti, expires]), { durable: false });
  return changes === 1;
}

/** Removes the jtis whose proofs are past any acceptance window: their replay is refused by `iat` already. */
export async function expireJtis(storage: Storage, now: number): Promise<number> {
  const { changes } = await storage.transaction((tx) => tx.run('DELETE FROM dpop_jti WHERE expires < ?', [now]));
  return changes;
}
