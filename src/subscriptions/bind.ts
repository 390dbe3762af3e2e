import type { Subscription } from '@medplum/fhirtypes';
import { FhirError } from '../fhir/errors.js';
import { ID_PATTERN } from '../fhir/ids.js';
import type { Services } from '../fhir/services.js';
import { reach } from '../security/principal.js';
import { subscriptionOfPatient } from './patient-limit.js';
import type { SubscriberSocket } from './sockets.js';

/**
 * `bind [id]` on the server's socket (R4 §subscription websockets): the Subscription must exist, be one
 * the caller may read (`svc.principal`, from its token; none when authentication is off) and be a
 * websocket one that is not `off` or in `error`. Existence and access are checked before anything else
 * is said of it: a subscription the token may not read is answered as unknown. A `patient/` token may
 * bind only to a Subscription limited to its patient. Then `bound [id]` is sent and the socket is bound
 * on this node, and the delivery worker is woken: events recorded while no socket was bound are pinged
 * now, in order, after the `bound`.
 */
export async function bindSocket(svc: Services, id: string, socket: SubscriberSocket): Promise<void> {
  const unknown = new FhirError('not-found', `Subscription/${id.slice(0, 80)} is not known`);
  if (!ID_PATTERN.test(id)) throw unknown;
  const row = await svc.store.current('Subscription', id);
  if (!row?.content || row.deleted) throw unknown;
  const sub = JSON.parse(row.content) as Subscription;
  const p = svc.principal;
  if (p) {
    svc.access.authorize(svc, [{ type: 'Subscription', action: 'r' }]);
    if (reach(p, 'Subscription', 'r') === 'compartment' && !subscriptionOfPatient(svc, sub, p.patient as string))
      throw unknown;
  }
  if (sub.channel.type !== 'websocket')
    throw new FhirError('unprocessable', `Subscription/${id} is a ${sub.channel.type} subscription, not websocket`);
  if (sub.status !== 'active' && sub.status !== 'requested')
    throw new FhirError('unprocessable', `Subscription/${id} is ${sub.status}: set it to requested first`);
  await socket.send(`bound ${id}`);
  svc.subscriptionSignal.sockets.bind(id, socket);
  svc.subscriptionSignal.notify();
}
