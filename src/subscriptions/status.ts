import type { AuditEvent, Subscription } from '@medplum/fhirtypes';
import { newId } from '../fhir/ids.js';
import { applyChanges } from '../fhir/interactions/reactions.js';
import type { Services } from '../fhir/services.js';
import type { Tx } from '../storage/types.js';

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

/** An AuditEvent (R4 §6.4, application activity) saying the server gave up on a subscription's endpoint. */
async function auditGiveUp(svc: Services, tx: Tx, sub: Subscription, error: string): Promise<void> {
  const event: AuditEvent = {
    resourceType: 'AuditEvent',
    type: { system: 'http://dicom.nema.org/resources/ontology/DCM', code: '110100', display: 'Application Activity' },
    subtype: [{ system: 'http://hl7.org/fhir/restful-interaction', code: 'update' }],
    action: 'E',
    recorded: svc.clock.now().toISOString(),
    outcome: '8',
    outcomeDesc: `Subscription/${sub.id} set to error: ${error}`.slice(0, 1000),
    agent: [{ who: { display: 'Forløp FHIR server' }, requestor: false }],
    source: { observer: { display: 'Forløp FHIR server' } },
    entity: [
      {
        what: { reference: `Subscription/${sub.id}` },
        detail: [{ type: 'endpoint', valueString: sub.channel.endpoint }],
      },
    ],
  };
  await svc.store.write(tx, 'AuditEvent', newId(), undefined, event, 'POST');
}
