import type { OperationOutcomeIssue, Resource } from '@medplum/fhirtypes';
import jsonpatch from 'fast-json-patch';
import type { Tx } from '../../storage/types.js';
import { FhirError } from '../errors.js';
import { checkId, newId } from '../ids.js';
import { findMatches } from '../search/execute.js';
import type { Services } from '../services.js';
import type { VersionRow, WriteMethod } from '../store.js';
import { sameContent } from '../same-content.js';
import { checkResource, requireResource } from './resource-checks.js';
import { checkWrite, prepare, reactive, settle } from './reactions.js';

/**
 * The write interactions (R4 §3.1.0.3–3.1.0.7), each inside the caller's transaction so a Bundle
 * can run many of them atomically. They return what happened; formatting the answer is HTTP's job.
 */
export interface WriteResult {
  status: number;
  /** The version now current (absent for deletions of nothing). */
  row?: VersionRow;
  /** Validator warnings to show under `Prefer: return=OperationOutcome`. */
  issues?: OperationOutcomeIssue[];
  /** Conditional create that found a match: nothing was written. */
  existing?: boolean;
  /** An update that said what is stored already: nothing was written (`row` is the current version). */
  unchanged?: boolean;
}

export interface WriteOptions {
  /** The versionId an If-Match header requires, if any. */
  ifMatch?: string;
}

/** Serialises conditional writes with the same criteria, across processes on PostgreSQL. */
export function lockCriteria(tx: Tx, type: string, criteria: string): Promise<void> {
  const canonical = [...new URLSearchParams(criteria)].sort(([a], [b]) => a.localeCompare(b));
  return tx.lock(`cond:${type}?${new URLSearchParams(canonical).toString()}`);
}

/** The stored resource of a version row (undefined for a deletion or no row). */
function contentOf(row: VersionRow | null | undefined): Resource | undefined {
  return row?.content && !row.deleted ? (JSON.parse(row.content) as Resource) : undefined;
}

/**
 * Before a version is stored: the reactions' checks for its type (a second Patient for one person, a
 * milestone dated in the future …) may refuse it. `before` is read only when some reaction listens.
 */
async function beforeWrite(
  svc: Services,
  tx: Tx,
  type: string,
  id: string,
  prev: VersionRow | undefined,
  after?: Resource,
): Promise<void> {
  if (!reactive(svc, type)) return;
  await checkWrite(svc, tx, { type, id, before: contentOf(prev), after, origin: 'request' });
}

/**
 * After a version is written, in its transaction: a patient-scoped token must have written a resource
 * of its own patient (else 403, and the transaction rolls back); then what the server's reactions
 * change follows in the same transaction (`settle`). Returns the version now stored of what the client
 * wrote — a reaction may have written it again (a completed milestone gets its standing), and the
 * client is answered with that, so its next If-Match holds.
 */
async function afterWrite(
  svc: Services,
  tx: Tx,
  row: VersionRow,
  prev: VersionRow | undefined,
  action: 'c' | 'u' | 'd',
): Promise<VersionRow> {
  // what the rest of the request validates against has changed: read it again (ports.ts RequestMemo)
  if (svc.validator.definitionTypes?.includes(row.type)) svc.requestMemo?.clear();
  if (action !== 'd') await svc.access.checkWritten(svc, tx, row, action);
  if (!reactive(svc, row.type)) return row;
  const event = {
    type: row.type,
    id: row.id,
    before: contentOf(prev),
    after: contentOf(row),
    origin: 'request' as const,
  };
  const latest = await settle(svc, tx, event);
  return latest.get(`${row.type}/${row.id}`) ?? row;
}

/** The audit trail is written once: no client may change or delete an AuditEvent. */
function immutable(type: string, id: string): void {
  if (type === 'AuditEvent')
    throw new FhirError('not-allowed', `AuditEvent/${id} is part of the audit trail: it cannot be changed or deleted`);
}

function tooMany(type: string, criteria: string): FhirError {
  return new FhirError('precondition', {
    message: `The criteria '${criteria}' match more than one ${type}`,
    code: 'multiple-matches',
  });
}

/** create (R4 §3.1.0.3); a transaction passes the id it already gave the entry's fullUrl. */
export async function create(
  svc: Services,
  tx: Tx,
  type: string,
  body: unknown,
  ifNoneExist?: string,
  assignedId?: string,
): Promise<WriteResult> {
  const resource = prepare(svc, requireResource(svc, body, type));
  if (ifNoneExist) {
    await lockCriteria(tx, type, ifNoneExist);
    const matches = await findMatches(svc, type, ifNoneExist, tx);
    if (matches.length > 1) throw tooMany(type, ifNoneExist);
    if (matches.length === 1) return { status: 200, row: matches[0], existing: true };
  }
  return insert(svc, tx, type, assignedId ?? newId(), resource, 'POST');
}

/** A new resource (prepared): validated, checked, stored, and what follows it applied; answered 201. */
async function insert(svc: Services, tx: Tx, type: string, id: string, resource: Resource, method: WriteMethod) {
  const issues = await checkResource(svc, resource);
  await beforeWrite(svc, tx, type, id, undefined, resource);
  const row = await svc.store.write(tx, type, id, undefined, resource, method);
  return { status: 201, row: await afterWrite(svc, tx, row, undefined, 'c'), issues };
}

export async function update(
  svc: Services,
  tx: Tx,
  type: string,
  id: string,
  body: unknown,
  opts: WriteOptions = {},
): Promise<WriteResult> {
  checkId(id);
  const resource = requireResource(svc, body, type);
  if (resource.id === undefined)
    throw new FhirError('invalid', { message: `The resource must have an id (R4 §3.1.0.4)`, expression: `${type}.id` });
  if (resource.id !== id) {
    throw new FhirError('invalid', {
      message: `The resource id '${resource.id}' does not match the URL's id '${id}'`,
      expression: `${type}.id`,
    });
  }
  return put(svc, tx, type, id, resource, 'PUT', opts);
}

async function put(
  svc: Services,
  tx: Tx,
  type: string,
  id: string,
  body: Resource,
  method: 'PUT' | 'PATCH',
  opts: WriteOptions,
  locked?: VersionRow | null,
): Promise<WriteResult> {
  const resource = prepare(svc, body);
  let prev = locked;
  if (prev === undefined) {
    await svc.store.lockResource(tx, type, id);
    prev = (await svc.store.current(type, id, tx)) ?? null;
  }
  checkVersion(type, id, prev ?? undefined, opts.ifMatch);
  const current = contentOf(prev);
  if (prev && current) {
    immutable(type, id);
    await svc.access.checkReachable(svc, tx, prev, 'u');
    // an update that changes nothing stores no version: the current one is the answer
    if (sameContent(current, resource)) return { status: 200, row: prev, unchanged: true };
  }
  const issues = await checkResource(svc, resource);
  await beforeWrite(svc, tx, type, id, prev ?? undefined, resource);
  const row = await svc.store.write(tx, type, id, prev ?? undefined, resource, method);
  return {
    status: current ? 200 : 201,
    row: await afterWrite(svc, tx, row, prev ?? undefined, current ? 'u' : 'c'),
    issues,
  };
}

function checkVersion(type: string, id: string, prev: VersionRow | undefined, ifMatch: string | undefined): void {
  if (ifMatch === undefined) return;
  if (!prev || prev.deleted)
    throw new FhirError('precondition', {
      message: `If-Match: ${type}/${id} has no current version`,
      expression: 'If-Match',
    });
  if (String(prev.version) !== ifMatch) {
    throw new FhirError('precondition', {
      message: `If-Match: version ${ifMatch} of ${type}/${id} is not current (current is ${prev.version})`,
      expression: 'If-Match',
      code: 'conflict',
    });
  }
}

export async function conditionalUpdate(
  svc: Services,
  tx: Tx,
  type: string,
  criteria: string,
  body: unknown,
  opts: WriteOptions = {},
): Promise<WriteResult> {
  const resource = requireResource(svc, body, type);
  await lockCriteria(tx, type, criteria);
  const matches = await findMatches(svc, type, criteria, tx);
  if (matches.length > 1) throw tooMany(type, criteria);
  if (matches.length === 1) {
    const id = matches[0].id;
    if (resource.id !== undefined && resource.id !== id) {
      throw new FhirError('invalid', {
        message: `The resource id '${resource.id}' is not the id of the match '${id}'`,
        expression: `${type}.id`,
      });
    }
    return put(svc, tx, type, id, resource, 'PUT', opts);
  }
  // no match: create, with the client's id when it gave one (R4 §3.1.0.4.3)
  if (resource.id !== undefined) return put(svc, tx, type, checkId(resource.id), resource, 'PUT', opts);
  return insert(svc, tx, type, newId(), prepare(svc, resource), 'PUT');
}

/** JSON Patch (RFC 6902) on the current version; the patched resource is validated like an update. */
export async function patch(
  svc: Services,
  tx: Tx,
  type: string,
  id: string,
  ops: unknown,
  opts: WriteOptions = {},
): Promise<WriteResult> {
  checkId(id);
  if (!Array.isArray(ops))
    throw new FhirError('invalid', {
      message: 'A JSON Patch document must be an array of operations',
      expression: 'body',
    });
  await svc.store.lockResource(tx, type, id);
  const prev = await svc.store.current(type, id, tx);
  if (!prev) throw new FhirError('not-found', `${type}/${id} is not known`);
  if (prev.deleted) throw new FhirError('gone', `${type}/${id} has been deleted`);
  checkVersion(type, id, prev, opts.ifMatch);
  const invalid = jsonpatch.validate(ops as jsonpatch.Operation[]);
  if (invalid) {
    throw new FhirError('invalid', {
      message: `Invalid JSON Patch operation ${invalid.index ?? ''}: ${invalid.message.split('\n')[0]}`,
      expression: `body[${invalid.index ?? 0}]`,
    });
  }
  let patched: Resource;
  try {
    patched = jsonpatch.applyPatch(JSON.parse(prev.content as string), ops as jsonpatch.Operation[], false, false)
      .newDocument as Resource;
  } catch (err) {
    const e = err as { index?: number; message?: string; name?: string };
    // a failed `test` or a path that is not there: the patch cannot be applied to this version
    throw new FhirError('unprocessable', {
      message: `JSON Patch failed: ${(e.message ?? '').split('\n')[0]}`,
      expression: `body[${e.index ?? 0}]`,
    });
  }
  if (patched?.resourceType !== type || patched.id !== id) {
    throw new FhirError('unprocessable', {
      message: 'A patch may not change resourceType or id',
      expression: `${type}.id`,
    });
  }
  return put(svc, tx, type, id, patched, 'PATCH', {}, prev);
}

export async function conditionalPatch(
  svc: Services,
  tx: Tx,
  type: string,
  criteria: string,
  ops: unknown,
  opts: WriteOptions = {},
): Promise<WriteResult> {
  await lockCriteria(tx, type, criteria);
  const matches = await findMatches(svc, type, criteria, tx);
  if (matches.length > 1) throw tooMany(type, criteria);
  if (!matches.length) throw new FhirError('not-found', `No ${type} matches '${criteria}'`);
  return patch(svc, tx, type, matches[0].id, ops, opts);
}

/** Deleting what is already gone (or never was) succeeds with no new version (R4 §3.1.0.7). */
export async function remove(
  svc: Services,
  tx: Tx,
  type: string,
  id: string,
  opts: WriteOptions = {},
): Promise<WriteResult> {
  checkId(id);
  await svc.store.lockResource(tx, type, id);
  const prev = await svc.store.current(type, id, tx);
  checkVersion(type, id, prev, opts.ifMatch);
  if (!prev || prev.deleted) return { status: 204 };
  immutable(type, id);
  await svc.access.checkReachable(svc, tx, prev, 'd');
  await beforeWrite(svc, tx, type, id, prev);
  const row = await svc.store.write(tx, type, id, prev, null, 'DELETE');
  await afterWrite(svc, tx, row, prev, 'd');
  return { status: 204, row };
}

/** Conditional delete of a single match (CapabilityStatement: conditionalDelete = single). */
export async function conditionalDelete(svc: Services, tx: Tx, type: string, criteria: string): Promise<WriteResult> {
  await lockCriteria(tx, type, criteria);
  const matches = await findMatches(svc, type, criteria, tx);
  if (matches.length > 1) throw tooMany(type, criteria);
  if (!matches.length) return { status: 204 };
  return remove(svc, tx, type, matches[0].id);
}
