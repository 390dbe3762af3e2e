import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { OperationOutcome, OperationOutcomeIssue, Parameters, Resource } from '@medplum/fhirtypes';
import { createServices } from '../app/services.js';
import { loadPathways } from '../pathways/loader.js';
import { SqliteStorage } from '../storage/sqlite.js';
import { loadTerminology } from '../terminology/loader.js';
import { validateWithDryRun } from '../validation/dry-run.js';
import { isR4ResourceType, unknownTypeIssue } from '../validation/resource-types.js';

/** Where `forlop validate` sends resources: the embedded validator, or a running server's `$validate`. */
export interface ValidationTarget {
  validate(resource: Resource, profiles: string[]): Promise<OperationOutcomeIssue[]>;
  close(): Promise<void>;
}

/** The server named by --server could not be asked (down, wrong address, not a FHIR server): exit 2. */
export class ServerUnreachable extends Error {}

/**
 * The server's own validator and Bundle processing on a throw-away embedded database holding the
 * shipped terminology and pathways: a transaction or batch Bundle is dry-run as `$validate` does, so
 * a Bundle that carries a pathway (its patient, CarePlan and Tasks, as the example journeys do) meets
 * the pathway and NPR rules.
 */
export async function embeddedTarget(): Promise<ValidationTarget> {
  const dir = mkdtempSync(join(tmpdir(), 'forlop-validate-'));
  const storage = new SqliteStorage(join(dir, 'validate.db'));
  const close = async () => {
    await storage.close();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const svc = createServices({ storage, baseUrl: 'http://localhost/fhir' });
    await svc.ready;
    await loadTerminology(svc);
    await loadPathways(svc);
    return { validate: (resource, profiles) => validateWithDryRun(svc, resource, { profiles }), close };
  } catch (err) {
    await close();
    throw err;
  }
}

const FHIR_JSON = 'application/fhir+json';
/** A Bundle of thousands of entries takes a while to validate; an answer slower than this is not coming. */
const REQUEST_TIMEOUT_MS = 10 * 60_000;

/** Fetches `url`; a server that cannot be reached (or does not answer in time) is a ServerUnreachable. */
async function ask(url: string, init: RequestInit, timeoutMs: number): Promise<Response> {
  try {
    return await fetch(url, { ...init, signal: AbortSignal.timeout(timeoutMs) });
  } catch (err) {
    const cause = (err as { cause?: { message?: string } }).cause?.message ?? (err as Error).message;
    throw new ServerUnreachable(`Cannot reach the FHIR server at ${url}: ${cause}`);
  }
}

/**
 * A running server's `$validate`: each resource POSTed to `[base]/[type]/$validate` (a Bundle to
 * `[base]/Bundle/$validate`, where a transaction or batch is dry-run against the server's data).
 * A resourceType that is not R4's is reported here, as the embedded validator does, without asking.
 */
export async function serverTarget(base: string): Promise<ValidationTarget> {
  const root = base.replace(/\/+$/, '');
  const meta = await ask(`${root}/metadata`, { headers: { Accept: FHIR_JSON } }, 30_000);
  const statement = meta.ok ? ((await meta.json().catch(() => undefined)) as { resourceType?: string } | null) : null;
  if (statement?.resourceType !== 'CapabilityStatement') {
    const answered = `GET ${root}/metadata answered HTTP ${meta.status} without a CapabilityStatement`;
    throw new ServerUnreachable(`${root} is not a FHIR server: ${answered}`);
  }
  return {
    async validate(resource, profiles) {
      if (!isR4ResourceType(resource.resourceType)) return [unknownTypeIssue(resource.resourceType, 'resourceType')];
      // several profiles need Parameters: query parameters of a direct POST keep one value per name
      const parameter = [{ name: 'resource', resource }, ...profiles.map((p) => ({ name: 'profile', valueUri: p }))];
      const body: Resource | Parameters = profiles.length ? { resourceType: 'Parameters', parameter } : resource;
      const headers = { 'Content-Type': FHIR_JSON, Accept: FHIR_JSON };
      const init = { method: 'POST', headers, body: JSON.stringify(body) };
      const res = await ask(`${root}/${resource.resourceType}/$validate`, init, REQUEST_TIMEOUT_MS);
      return answerIssues(res.status, await res.text());
    },
    close: async () => undefined,
  };
}

/**
 * The issues of the server's answer: 200 with an OperationOutcome (its one "all OK" information issue
 * dropped: R4 requires an issue, the embedded validator has none); a refusal's OperationOutcome as it
 * is; anything else one error saying what came back.
 */
function answerIssues(status: number, text: string): OperationOutcomeIssue[] {
  let outcome: OperationOutcome | undefined;
  try {
    const parsed = JSON.parse(text) as OperationOutcome;
    if (parsed?.resourceType === 'OperationOutcome' && Array.isArray(parsed.issue)) outcome = parsed;
  } catch {
    // not JSON: reported below
  }
  if (!outcome) {
    const diagnostics = `The server answered HTTP ${status} without an OperationOutcome`;
    return [{ severity: 'error', code: 'exception', diagnostics }];
  }
  const [first, ...more] = outcome.issue;
  const allOk = status === 200 && !more.length && first?.severity === 'information' && first.code === 'informational';
  return allOk ? [] : outcome.issue;
}
