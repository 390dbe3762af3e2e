import { reindexOperation } from '../fhir/operations/reindex.js';
import { versionsOperation } from '../fhir/operations/versions.js';
import { everythingOperation } from '../fhir/operations/everything/operation.js';
import type { Operation } from '../fhir/operations/types.js';
import { expandOperation } from '../terminology/operations/expand.js';
import { lookupOperation, subsumesOperation } from '../terminology/operations/lookup.js';
import { translateOperation } from '../terminology/operations/translate.js';
import { batchValidateCodeOperation } from '../terminology/operations/batch-validate-code.js';
import { codeSystemValidateCode, valueSetValidateCode } from '../terminology/operations/validate-code.js';
import { validateOperation } from '../validation/operation.js';
import { applyOperation } from '../pathways/apply-operation.js';
import { deadlinesOperation } from '../pathways/deadlines.js';
import { evaluateDeadlinesOperation } from '../pathways/evaluate-operation.js';
import { registryReportOperation } from '../registry/operation.js';
import { evaluateMeasureOperation } from '../measures/operation.js';
import { eventsOperation, statusOperation } from '../subscriptions/operations.js';
import { resendOperation } from '../subscriptions/resend.js';
import { groupExportOperation, patientExportOperation, systemExportOperation } from '../bulk/kickoff.js';
import { exportStatusOperation } from '../bulk/status.js';
import { exportFileOperation } from '../bulk/file.js';
import { importOperation } from '../bulk/import-kickoff.js';
import { installPackageOperation } from '../packages/operation.js';
import { installedPackagesOperation } from '../packages/installed-operation.js';

/**
 * Every operation the server offers, from every area: the one table the core routes by and lists in the
 * CapabilityStatement (Services.operations). The same name may serve several types with different modules.
 */
export const OPERATIONS: Operation[] = [
  reindexOperation,
  versionsOperation,
  expandOperation,
  valueSetValidateCode,
  codeSystemValidateCode,
  batchValidateCodeOperation,
  lookupOperation,
  subsumesOperation,
  translateOperation,
  validateOperation,
  applyOperation,
  deadlinesOperation,
  evaluateDeadlinesOperation,
  registryReportOperation,
  evaluateMeasureOperation,
  statusOperation,
  eventsOperation,
  resendOperation,
  everythingOperation,
  systemExportOperation,
  patientExportOperation,
  groupExportOperation,
  exportStatusOperation,
  exportFileOperation,
  importOperation,
  installPackageOperation,
  installedPackagesOperation,
];
