import type { Bundle, BundleEntry, OperationOutcomeIssue, Resource } from '@medplum/fhirtypes';
import { FhirError } from '../fhir/errors.js';
import { processBundle } from '../fhir/interactions/bundle.js';
import { findRoute } from '../fhir/routes.js';
import type { FhirRequest, FhirResponse } from '../fhir/request.js';
import type { Services } from '../fhir/services.js';
import type { ResourceStore } from '../fhir/store.js';
import type { Tx } from '../storage/types.js';
import type { ValidateOptions } from './types.js';

/** Thrown after a dry run's work, so the storage rolls all of it back; carries the work's result out. */
class DryRunRollback {
  constructor(readonly result: unknown) {}
}

/**
 * The store, whose every transaction runs its work and then rolls back: the dry run sees its own
 * writes (and the pathway reactions they start) inside the transaction, and nothing is ever kept. It
 * has no commit hook (no AuditEvent of writes that never happen), and a SearchParameter it writes does
 * not become searchable (the store's callback for that is silenced on the derived store).
 */
export function rollingBack(store: ResourceStore): ResourceStore {
  const dry = Object.create(store) as ResourceStore;
  dry.transaction = async <T>(fn: (tx: Tx) => Promise<T>): Promise<T> => {
    try {
      await store.storage.transaction(async (tx) => {
        throw new DryRunRollback(await fn(tx));
      });
    } catch (err) {
      if (err instanceof DryRunRollback) return err.result as T;
      throw err;
    }
    throw new Error('A dry run committed'); // unreachable: the work always ends in the rollback
  };
  Object.defineProperty(dry, 'onSearchParameter', { value: () => undefined });
  return dry;
}

/** GET entries read: a dry run does not run them (their answer would depend on writes that never happen). */
const notRun = async (): Promise<FhirResponse> => ({ status: 200 });

/** Whether `$validate` dry-runs this resource: a transaction or batch Bundle (R4 §3.1.0.11). */
export function isDryRunnable(resource: Resource): resource is Bundle {
  return resource.resourceType === 'Bundle' && (resource.type === 'transaction' || resource.type === 'batch');
}

/**
 * A transaction or batch Bundle run through the server's own Bundle processing on a store that
 * always rolls back: what a POST of it would refuse — a 422 with an NPR code (Volven 9329) from a
 * pathway reaction, a 409 or 412, a 404 — as issues at `Bundle.entry[i]…` paths, with their coded
 * details; warnings of the writes too. A batch's entries run each on its own (R4: a batch's entries
 * may not depend on one another); a transaction stops at its first failing entry, as a POST would.
 */
export async function dryRun(svc: Services, bundle: Bundle): Promise<OperationOutcomeIssue[]> {
  const dry: Services = { ...svc, store: rollingBack(svc.store) };
  // the processing rewrites references in place: it works on a copy
  const req: FhirRequest = {
    method: 'POST',
    path: [],
    query: [],
    headers: { prefer: 'return=OperationOutcome' },
    body: structuredClone(bundle),
  };
  try {
    const res = await processBundle(dry, req, notRun, findRoute);
    return responseIssues((res.resource as Bundle).entry ?? []);
  } catch (err) {
    // what the server refuses is reported; its own failure (a bug: 500, the database away: 503)
    // is not a verdict on the Bundle
    if (err instanceof FhirError && err.status < 500) return err.issues;
    throw err;
  }
}

/** The issues of a transaction- or batch-response: failed entries' as they are, others' placed under the entry. */
function responseIssues(entries: BundleEntry[]): OperationOutcomeIssue[] {
  return entries.flatMap((entry, i) => {
    const issues = (entry?.response?.outcome?.issue ?? []).filter((issue) => issue.severity !== 'information');
    if (!issues.length) return [];
    const failed = Number.parseInt(entry.response?.status ?? '', 10) >= 400;
    return failed ? issues : FhirError.withIssues('invalid', issues).within(`Bundle.entry[${i}]`).issues;
  });
}

const SEVERITY_ORDER: Record<OperationOutcomeIssue['severity'], number> = {
  fatal: 0,
  error: 1,
  warning: 2,
  information: 3,
};

/**
 * What `$validate` and `forlop validate` report: the validator's issues, and for a transaction or
 * batch Bundle those of its dry run (an issue both report is given once), errors first.
 */
export async function validateWithDryRun(
  svc: Services,
  resource: Resource,
  options: ValidateOptions = {},
): Promise<OperationOutcomeIssue[]> {
  const issues = await svc.validator.validate(resource, options);
  if (!isDryRunnable(resource)) return issues;
  const seen = new Set(issues.map(key));
  for (const issue of await dryRun(svc, resource)) {
    if (seen.has(key(issue))) continue;
    seen.add(key(issue));
    issues.push(issue);
  }
  return issues.sort((a, b) => SEVERITY_ORDER[a.severity] - SEVERITY_ORDER[b.severity]);
}

function key(issue: OperationOutcomeIssue): string {
  return JSON.stringify([issue.severity, issue.expression, issue.diagnostics]);
}
