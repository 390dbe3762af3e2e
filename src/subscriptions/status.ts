import type { Subscription } from '@medplum/fhirtypes';
import { applyChanges } from '../fhir/interactions/reactions.js';
import type { Services } from '../fhir/services.js';
import { auditGiveUp } from './audit.js';

export type ServerStatus = 'active' | 'error' | 'off';

/**
 * Moves a Subscription's status as the server (R4 §subscription: the server sets `active` once it can
 * deliver, `error` with `Subscription.error` when it cannot), only from the status the worker saw: a client
 * that changed it meanwhile (turned it off, asked again) wins. An `error` leaves an AuditEvent in the same
 * transaction: giving up on an endpoint is never silent. Returns whether the status moved.
 */
export async function moveStatus(
  svc: Services,
  id: string,
  from: string,
  to: ServerStatus,
  error?: string,
): Promise<boolean> {
  const server = svc.access.asServer(svc);
  return svc.store.transaction(async (tx) => {
    await svc.store.lockResource(tx, 'Subscription', id);
    const row = await svc.store.current('Subscription', id, tx);
    if (!row?.content || row.deleted) return false;
    const sub = JSON.parse(row.content) as Subscription;
    if (sub.status !== from) return false;
    const { error: _previous, ...rest } = sub;
    await applyChanges(server, tx, [{ ...rest, status: to, ...(error ? { error } : {}) }]);
    if (to === 'error') await auditGiveUp(svc, tx, sub, error ?? 'delivery failed');
    return true;
  });
}
