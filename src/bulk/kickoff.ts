import { randomUUID } from 'node:crypto';
import type { OperationOutcomeIssue } from '@medplum/fhirtypes';
import type { Operation } from '../fhir/operations/types.js';
import type { FhirRequest, FhirResponse } from '../fhir/request.js';
import { lastSeq } from '../fhir/search/bulk-reads.js';
import type { Services } from '../fhir/services.js';
import { awaitWritersInFlight, insertFile, insertJob } from '../storage/bulk-tables.js';
import { readExportInput } from './input.js';
import { ownerOf } from './owner.js';
import { makePlan, type ExportLevel } from './plan.js';
import type { ExportCursor } from './run.js';
import './services.js';

/** Said in the error file when a transaction under way at the kick-off had not ended after the wait. */
const UNSETTLED: OperationOutcomeIssue = {
  severity: 'warning',
  code: 'incomplete',
  diagnostics:
    'A write under way at transactionTime had not ended after 5 s: what it commits may be missing from this ' +
    'export and from the next _since export',
};

/** The status URL of a job (the kick-off's Content-Location). */
export const statusUrl = (svc: Services, id: string) => `${svc.baseUrl}/$export-poll-status?_jobId=${id}`;

/** The request as the manifest's `request` repeats it: the kick-off URL with its query. */
function requestUrl(svc: Services, req: FhirRequest): string {
  const query = new URLSearchParams(req.query).toString();
  return `${svc.baseUrl}/${req.path.join('/')}${query ? `?${query}` : ''}`;
}

/** The warnings of the kick-off, as the job's first file (the manifest's `error`). */
function warningsFile(issues: OperationOutcomeIssue[]) {
  const lines = issues.map((issue) => JSON.stringify({ resourceType: 'OperationOutcome', issue: [issue] }));
  const content = `${lines.join('\n')}\n`;
  const info = { seq: 0, kind: 'error' as const, type: 'OperationOutcome', count: lines.length, bytes: 0 };
  info.bytes = Buffer.byteLength(content);
  return { info, content };
}

/**
 * A kick-off (Bulk Data IG, `$export`): the parameters checked, the snapshot taken (the newest
 * version now: transactionTime), the plan and its owner stored as a job, the worker woken. 202 with
 * the status URL in Content-Location; the job runs in the background on whichever node takes it.
 */
async function kickOff(svc: Services, req: FhirRequest, level: ExportLevel): Promise<FhirResponse> {
  const input = readExportInput(svc, req, level.kind === 'system' ? 'system' : 'patients');
  const db = svc.store.storage;
  const transactionTime = svc.clock.now().getTime();
  // the snapshot is taken once the writes begun before transactionTime have committed (or not): none of
  // them (stamped before it) can then commit later, missed by this export and by the next `_since` one
  const settled = await awaitWritersInFlight(db);
  const snapshot = await lastSeq(db);
  const { plan, warnings } = await makePlan(svc, level, input, snapshot);
  if (!settled) warnings.push(UNSETTLED);
  const id = randomUUID();
  const cursor: ExportCursor = { typeIndex: 0, afterSeq: 0, nextFile: 1, exported: 0 };
  await db.transaction(async (tx) => {
    await insertJob(tx, {
      id,
      status: 'accepted',
      owner: ownerOf(svc),
      request: requestUrl(svc, req),
      plan: JSON.stringify(plan),
      cursor: JSON.stringify(cursor),
      requiresToken: svc.principal !== undefined,
      transactionTime,
      created: transactionTime,
      expires: transactionTime + svc.bulk.expiresMs,
    });
    if (warnings.length) {
      const file = warningsFile(warnings);
      await insertFile(tx, id, file.info, file.content);
    }
  });
  return accepted(svc, 'Export', id);
}

/**
 * The answer to a kick-off whose job is stored: this process's worker woken (other nodes find the job
 * by polling), and 202 with the status URL in Content-Location (Bulk Data IG, kick-off response).
 */
export function accepted(svc: Services, what: 'Export' | 'Import', id: string): FhirResponse {
  svc.bulkSignal.notify();
  const issue: OperationOutcomeIssue = {
    severity: 'information',
    code: 'informational',
    diagnostics: `${what} job ${id} accepted; poll its status at the Content-Location`,
  };
  return {
    status: 202,
    resource: { resourceType: 'OperationOutcome', issue: [issue] },
    headers: { 'Content-Location': statusUrl(svc, id) },
  };
}

/** Our OperationDefinitions (profiles/), each based on the Bulk Data IG's of the same name. */
const DEFINITIONS = 'http://forlop.no/fhir/OperationDefinition';

/**
 * `GET|POST [base]/$export`: every type. Its needs (read and search of each exported type for every
 * patient, `system/*.rs`) depend on `_type`, so the plan checks them (plan.ts); here nothing more.
 */
export const systemExportOperation: Operation = {
  name: 'export',
  definition: `${DEFINITIONS}/export`,
  levels: ['system'],
  methods: ['GET', 'POST'],
  access: () => [],
  handler: (svc, req) => kickOff(svc, req, { kind: 'system' }),
};

/** `GET|POST [base]/Patient/$export`: the Patient compartment of every patient (or of `patient`). */
export const patientExportOperation: Operation = {
  name: 'export',
  definition: `${DEFINITIONS}/patient-export`,
  levels: ['type'],
  resourceTypes: ['Patient'],
  methods: ['GET', 'POST'],
  access: () => [{ type: 'Patient', action: 's', whole: true }],
  handler: (svc, req) => kickOff(svc, req, { kind: 'patient' }),
};

/** `GET|POST [base]/Group/[id]/$export`: the Patient compartment of the Group's members. */
export const groupExportOperation: Operation = {
  name: 'export',
  definition: `${DEFINITIONS}/group-export`,
  levels: ['instance'],
  resourceTypes: ['Group'],
  methods: ['GET', 'POST'],
  access: () => [{ type: 'Group', action: 'r' }],
  handler: (svc, req, target) => kickOff(svc, req, { kind: 'group', id: target.id! }),
};
