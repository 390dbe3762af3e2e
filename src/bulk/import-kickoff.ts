import { randomUUID } from 'node:crypto';
import type { Operation } from '../fhir/operations/types.js';
import type { Services } from '../fhir/services.js';
import { insertJob } from '../storage/bulk-tables.js';
import { readImportInput } from './import-input.js';
import type { ImportCursor, ImportPlan } from './import-run.js';
import { accepted } from './kickoff.js';
import { ownerOf } from './owner.js';
import './services.js';

/**
 * `POST [base]/$import` (the Bulk Data IG's ping-and-pull import): NDJSON files fetched from the URLs
 * given — only under BULK_IMPORT_SOURCES — and stored as updates (their ids kept), validated, with the
 * server's reactions. Asynchronous like `$export`: 202 and the same status URL, whose manifest lists per
 * input the resources stored and, in `error`, every line that was not. The caller must create and update
 * every type it imports for every patient (`system/*.cu` or per type).
 */
export const importOperation: Operation = {
  name: 'import',
  definition: 'http://forlop.no/fhir/OperationDefinition/import',
  levels: ['system'],
  methods: ['POST'],
  access: () => [],
  async handler(svc: Services, req) {
    const inputs = readImportInput(svc, req);
    for (const { type } of inputs) {
      svc.access.authorize(svc, [
        { type, action: 'c', whole: true },
        { type, action: 'u', whole: true },
      ]);
    }
    const db = svc.store.storage;
    const now = svc.clock.now().getTime();
    const id = randomUUID();
    const plan: ImportPlan = { kind: 'import', inputs };
    const cursor: ImportCursor = { input: 0, line: 0, imported: [], nextFile: 1 };
    await db.transaction((tx) =>
      insertJob(tx, {
        id,
        status: 'accepted',
        owner: ownerOf(svc),
        request: `${svc.baseUrl}/$import`,
        plan: JSON.stringify(plan),
        cursor: JSON.stringify(cursor),
        requiresToken: svc.principal !== undefined,
        transactionTime: now,
        created: now,
        expires: now + svc.bulk.expiresMs,
      }),
    );
    return accepted(svc, 'Import', id);
  },
};
