import type { AuditEvent, AuditEventEntity, Resource, Subscription } from '@medplum/fhirtypes';
import { newId } from '../fhir/ids.js';
import type { Services } from '../fhir/services.js';
import { patientsOf } from '../security/audit.js';
import type { Tx } from '../storage/types.js';

const DCM = 'http://dicom.nema.org/resources/ontology/DCM';
const ENTITY_TYPE = 'http://terminology.hl7.org/CodeSystem/audit-entity-type';
const OBJECT_ROLE = 'http://terminology.hl7.org/CodeSystem/object-role';
const SERVER = { who: { display: 'Forløp FHIR server' }, requestor: false };
const SOURCE = { observer: { display: 'Forløp FHIR server' } };

function write(svc: Services, tx: Tx, event: AuditEvent): Promise<unknown> {
  return svc.store.write(tx, 'AuditEvent', newId(), undefined, event, 'POST');
}

/** An AuditEvent (R4 §6.4, application activity) saying the server gave up on a subscription's endpoint. */
export async function auditGiveUp(svc: Services, tx: Tx, sub: Subscription, error: string): Promise<void> {
  await write(svc, tx, {
    resourceType: 'AuditEvent',
    type: { system: DCM, code: '110100', display: 'Application Activity' },
    subtype: [{ system: 'http://hl7.org/fhir/restful-interaction', code: 'update' }],
    action: 'E',
    recorded: svc.clock.now().toISOString(),
    outcome: '8',
    outcomeDesc: `Subscription/${sub.id} set to error: ${error}`.slice(0, 1000),
    agent: [SERVER],
    source: SOURCE,
    entity: [
      {
        what: { reference: `Subscription/${sub.id}` },
        detail: [{ type: 'endpoint', valueString: sub.channel.endpoint }],
      },
    ],
  });
}

/**
 * An AuditEvent (DICOM 110106 Export) for a notification that carried a resource out of the server: its
 * patients, the version sent, the subscription and the endpoint. Written in the transaction that marks the
 * event delivered, so every delivery of patient data has its record, and none is recorded that was not.
 */
export async function auditDelivery(svc: Services, tx: Tx, sub: Subscription, sent: Resource): Promise<void> {
  const patients: AuditEventEntity[] = [...patientsOf(sent)].map((reference) => ({
    what: { reference },
    type: { system: ENTITY_TYPE, code: '1', display: 'Person' },
    role: { system: OBJECT_ROLE, code: '1', display: 'Patient' },
  }));
  const version = `${sent.resourceType}/${sent.id}/_history/${sent.meta?.versionId}`;
  await write(svc, tx, {
    resourceType: 'AuditEvent',
    type: { system: DCM, code: '110106', display: 'Export' },
    action: 'R',
    recorded: svc.clock.now().toISOString(),
    outcome: '0',
    agent: [
      SERVER,
      {
        type: { text: 'Subscription endpoint (information recipient)' },
        who: { display: new URL(sub.channel.endpoint as string).origin },
        requestor: false,
      },
    ],
    source: SOURCE,
    entity: [
      ...patients,
      { what: { reference: version }, type: { system: ENTITY_TYPE, code: '2', display: 'System Object' } },
      {
        what: { reference: `Subscription/${sub.id}` },
        type: { system: ENTITY_TYPE, code: '2', display: 'System Object' },
      },
    ],
  });
}
