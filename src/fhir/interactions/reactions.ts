import type { Resource } from '@medplum/fhirtypes';
import type { Tx } from '../../storage/types.js';
import { FhirError } from '../errors.js';
import { sameContent } from '../same-content.js';
import type { Services, WriteEvent } from '../services.js';
import type { VersionRow } from '../store.js';
import { checkResource } from './resource-checks.js';

/** More server-made writes than this for one client write means reactions that never settle: a bug. */
const MAX_REACTION_WRITES = 10_000;

const keyOf = (type: string, id: string) => `${type}/${id}`;

/** Whether any reaction follows writes of `type` (the event's `before` is read only then). */
export function reactive(svc: Services, type: string): boolean {
  return svc.reactions.some((r) => r.type === type);
}

/** The resource with the fields the server owns set by every reaction for its type (`prepare`). */
export function prepare(svc: Services, resource: Resource): Resource {
  let prepared = resource;
  for (const reaction of svc.reactions) {
    if (reaction.type === resource.resourceType && reaction.prepare) prepared = reaction.prepare(svc, prepared);
  }
  return prepared;
}

/**
 * Runs the `check` of every reaction for the event's type: any may refuse the write. Checks are the
 * server's own rules and look as the server (one Patient per person must see every Patient, not the
 * ones a patient-scoped caller reaches); `svc`, the writer's own, is handed on for a check that depends
 * on who writes (a Subscription's criteria must be what its creator may search).
 */
export async function checkWrite(svc: Services, tx: Tx, event: WriteEvent): Promise<void> {
  const server = svc.access.asServer(svc);
  for (const reaction of svc.reactions) {
    if (reaction.type === event.type && reaction.check) await reaction.check(server, tx, event, svc);
  }
}

/**
 * The one loop that applies what reactions want after a write, in its transaction: each reaction
 * returns whole resources; each that differs from what is stored is validated and written as the
 * server (not as the client, whose token may not reach them), and its own reactions run in turn,
 * until nothing changes. Returns the last version written of each resource, so the caller answers
 * with what is stored.
 */
export async function settle(svc: Services, tx: Tx, first: WriteEvent): Promise<Map<string, VersionRow>> {
  const server = svc.access.asServer(svc);
  const latest = new Map<string, VersionRow>();
  const queue: WriteEvent[] = [first];
  let writes = 0;
  while (queue.length) {
    const event = queue.shift() as WriteEvent;
    for (const reaction of svc.reactions) {
      if (reaction.type !== event.type || !reaction.react) continue;
      for (const resource of await reaction.react(server, tx, event)) {
        const applied = await applyChange(server, tx, resource);
        if (!applied) continue;
        if (++writes > MAX_REACTION_WRITES) {
          throw new FhirError(
            'internal',
            `The server's reactions to a write of ${first.type}/${first.id} did not settle`,
          );
        }
        latest.set(keyOf(applied.event.type, applied.event.id), applied.row);
        queue.push(applied.event);
      }
    }
  }
  return latest;
}

/** Stores one resource a reaction returned, unless it says what is stored already. */
async function applyChange(
  svc: Services,
  tx: Tx,
  change: Resource,
): Promise<{ row: VersionRow; event: WriteEvent } | undefined> {
  const resource = prepare(svc, change);
  const { resourceType: type, id } = resource;
  if (!id) throw new FhirError('internal', `A reaction returned a ${type} without an id`);
  await svc.store.lockResource(tx, type, id);
  const prev = await svc.store.current(type, id, tx);
  const before = prev?.content && !prev.deleted ? (JSON.parse(prev.content) as Resource) : undefined;
  if (before && sameContent(before, resource)) return undefined;
  const event: WriteEvent = { type, id, before, after: resource, origin: 'reaction' };
  await checkWrite(svc, tx, event);
  await checkResource(svc, resource);
  const row = await svc.store.write(tx, type, id, prev, resource, before ? 'PUT' : 'POST');
  event.after = JSON.parse(row.content as string) as Resource;
  return { row, event };
}

/** Stores resources as the server, with their reactions (a scheduled evaluation's changes, say). */
export async function applyChanges(svc: Services, tx: Tx, resources: Resource[]): Promise<number> {
  let written = 0;
  for (const resource of resources) {
    const applied = await applyChange(svc, tx, resource);
    if (!applied) continue;
    written++;
    await settle(svc, tx, applied.event);
  }
  return written;
}
