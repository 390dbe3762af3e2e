import { FhirError } from '../fhir/errors.js';
import type { FhirRequest } from '../fhir/request.js';
import type { Route } from '../fhir/routes.js';
import type { Services } from '../fhir/services.js';
import type { Criterion } from '../fhir/search/params.js';
import type { VersionRow } from '../fhir/store.js';
import type { SqlExecutor } from '../storage/types.js';
import { compartmentCriterion, compartmentParams, inCompartment } from './compartment.js';
import { reach } from './principal.js';
import { isOwnSubscription } from './subscription-access.js';
import type { AccessPolicy, Action, Need } from '../fhir/ports.js';

export type { Need };

const WORDS: Record<Action, string> = { c: 'create', r: 'read', u: 'update', d: 'delete', s: 'search' };

/**
 * Refuses (403) a request whose token does not grant every need. The answer names the type and the
 * action asked for — nothing about whether any resource exists. No principal: authentication is off.
 */
export function authorize(svc: Services, needs: Need[]): void {
  const p = svc.principal;
  if (!p) return;
  for (const n of needs) {
    const r = reach(p, n.type, n.action);
    if (r === 'all' || (r === 'compartment' && !n.whole)) continue;
    const what = n.type === '*' ? 'every resource type' : n.type;
    throw new FhirError('forbidden', {
      message:
        r === 'compartment'
          ? `A patient-scoped token cannot ${WORDS[n.action]} ${what} beyond its patient`
          : `The access token's scopes do not allow ${WORDS[n.action]} on ${what}`,
    });
  }
}

/**
 * What a REST request needs, from the interaction its route says it is (R4 §3.1.0 → SMART actions):
 * read, vread and instance history `r`; search and type history `s` (a compartment search: `r` on the
 * compartment's owner and `s` on the type); create `c`; update and patch `u`; delete `d`; conditional
 * interactions also `s` (their criteria search); system history `s` on every type. Transactions, batches
 * and metadata need nothing themselves (each entry is checked as it runs); operations declare theirs.
 */
export function needsOf(route: Route, req: FhirRequest): Need[] {
  const [a, , c] = req.path;
  const search: Need[] = route.conditional ? [{ type: a, action: 's' }] : [];
  switch (route.interaction) {
    case 'read':
    case 'vread':
    case 'history-instance':
      return [{ type: a, action: 'r' }];
    case 'history-type':
      return [{ type: a, action: 's', whole: true }];
    case 'history-system':
      return [{ type: '*', action: 's', whole: true }];
    case 'search-type':
      return route.level === 'instance'
        ? [
            { type: a, action: 'r' },
            { type: c, action: 's' },
          ]
        : [{ type: a, action: 's' }];
    case 'create':
      return [{ type: a, action: 'c' }, ...(req.headers.ifNoneExist ? [{ type: a, action: 's' as const }] : [])];
    case 'update':
    case 'patch':
      return [{ type: a, action: 'u' }, ...search];
    case 'delete':
      return [{ type: a, action: 'd' }, ...search];
    default:
      return [];
  }
}

/**
 * A patient-scoped token reaches one stored resource only if it is in the patient's compartment. A
 * resource outside it is answered as not found — the same as one that does not exist, so the answer
 * tells nothing. Types outside the compartment are shared reference data: readable, never changed
 * with a patient scope.
 */
export async function checkReachable(svc: Services, db: SqlExecutor, row: VersionRow, action: Action): Promise<void> {
  const p = svc.principal;
  if (!p || reach(p, row.type, action) !== 'compartment') return;
  if (row.type === 'Subscription') {
    if (isOwnSubscription(svc, row, p.patient as string)) return;
    throw new FhirError('not-found', `${row.type}/${row.id} is not known`);
  }
  if (row.type !== 'Patient' && !compartmentParams(svc, row.type)) {
    if (action === 'r' || action === 's') return;
    throw new FhirError(
      'forbidden',
      `A patient-scoped token cannot change ${row.type}: it is not in the patient's compartment`,
    );
  }
  if (row.rid !== undefined && (await inCompartment(svc, db, row.type, row.id, row.rid, p.patient as string))) return;
  throw new FhirError('not-found', `${row.type}/${row.id} is not known`);
}

/** `checkReachable` for the current version of `type/id`, when there is one (an update may create it). */
export async function checkInstance(svc: Services, type: string, id: string, action: Action): Promise<void> {
  if (!svc.principal || reach(svc.principal, type, action) !== 'compartment') return;
  const row = await svc.store.current(type, id);
  if (row && !row.deleted) await checkReachable(svc, svc.store.storage, row, action);
}

/**
 * A version a patient-scoped token just wrote (in the transaction) must be its patient's: else 403, and nothing is
 * kept.
 */
export async function checkWritten(svc: Services, tx: SqlExecutor, row: VersionRow, action: 'c' | 'u'): Promise<void> {
  const p = svc.principal;
  if (!p || row.deleted || reach(p, row.type, action) !== 'compartment') return;
  const own =
    row.type === 'Patient' || compartmentParams(svc, row.type)
      ? row.rid !== undefined && (await inCompartment(svc, tx, row.type, row.id, row.rid, p.patient as string))
      : isOwnSubscription(svc, row, p.patient as string);
  if (!own)
    throw new FhirError(
      'forbidden',
      row.type === 'Subscription'
        ? 'A patient-scoped token can only write a Subscription limited to its own patient (patient=Patient/[id])'
        : `A patient-scoped token can only write resources of its own patient (the Patient compartment): ${row.type} is not`,
    );
}

/**
 * Chains and `_has` read other types: a chain follows only the target types the token may search
 * (`subject.name` looks at Patients, not at Groups it may not see), and refuses (403) when none is
 * left; `_has` needs search on the type it looks back from.
 */
function limitReach(svc: Services, criteria: Criterion[]): void {
  const p = svc.principal as NonNullable<Services['principal']>;
  for (const c of criteria) {
    if (c.chain) {
      c.chain = c.chain.filter((link) => reach(p, link.targetType, 's') !== 'none');
      if (!c.chain.length)
        throw new FhirError(
          'forbidden',
          `The access token's scopes allow search on none of the types the chain '${c.raw ?? c.code}' follows`,
        );
      for (const link of c.chain) limitReach(svc, [link.next]);
    }
    if (c.has) {
      authorize(svc, [{ type: c.has.sourceType, action: 's' }]);
      limitReach(svc, [c.has.next]);
    }
  }
}

/**
 * Limits a search to what the token reaches: within the patient's compartment for a patient scope
 * (so matches, totals and paging never count another patient's resources), and no chain or `_has`
 * into a type the token may not search.
 */
export function limitSearch(svc: Services, type: string, criteria: Criterion[]): void {
  const p = svc.principal;
  if (!p) return;
  limitReach(svc, criteria);
  if (reach(p, type, 's') !== 'compartment') return;
  // a patient's own Subscriptions are told apart by their criteria, which no search can: read them by id
  if (type === 'Subscription')
    throw new FhirError('forbidden', 'A patient-scoped token reads its Subscriptions by id; it cannot search them');
  const limit = compartmentCriterion(svc, type, p.patient as string);
  if (limit) criteria.unshift(limit);
}

/** `_include`/`_revinclude` results the token may read: other types, and other patients' resources, are left out. */
export async function visibleIncludes(svc: Services, rows: VersionRow[]): Promise<VersionRow[]> {
  const p = svc.principal;
  if (!p) return rows;
  const out: VersionRow[] = [];
  for (const row of rows) {
    const r = reach(p, row.type, 'r');
    if (r === 'all') out.push(row);
    else if (r === 'compartment') {
      const shared = row.type !== 'Patient' && !compartmentParams(svc, row.type);
      if (
        shared ||
        (row.rid !== undefined &&
          (await inCompartment(svc, svc.store.storage, row.type, row.id, row.rid, p.patient as string)))
      )
        out.push(row);
    }
  }
  return out;
}

/** The SMART policy the composition root hands the core (its AccessPolicy port, src/fhir/ports.ts). */
export const smartAccess: AccessPolicy = {
  needsOf,
  authorize,
  limitSearch,
  visibleIncludes,
  checkReachable,
  checkWritten,
  // what the server does in reaction to a write is its own doing, not the client's
  asServer: (svc) => (svc.principal ? { ...svc, principal: undefined } : svc),
};
