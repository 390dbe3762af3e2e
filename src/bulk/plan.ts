import type { Group, OperationOutcomeIssue } from '@medplum/fhirtypes';
import { FhirError } from '../fhir/errors.js';
import type { Need } from '../fhir/ports.js';
import { typeFilterWhere, typesWithVersions } from '../fhir/search/bulk-reads.js';
import type { Services } from '../fhir/services.js';
import type { ExportInput } from './input.js';

/** What a job exports, fixed at kick-off and stored with it (bulk_jobs.plan): a restart reads the same. */
export interface ExportPlan {
  /** The types in the order they are written. */
  types: string[];
  /** The history sequence number of the snapshot (transactionTime). */
  snapshot: number;
  since?: number;
  until?: number;
  elements?: string[];
  /** `_typeFilter` searches per type (OR-ed within a type). */
  filters: Record<string, [string, string][][]>;
  /** Patient/Group level: the patients' compartments (all patients, or these ids). */
  patients?: string[] | 'all';
  /** `includeAssociatedData=LatestProvenanceResources`: a last phase after `types` (run.ts). */
  latestProvenance?: boolean;
}

/** The `includeAssociatedData` value supported (Bulk Data IG); the others are 400. */
export const LATEST_PROVENANCE = 'LatestProvenanceResources';

/** Where a kick-off points: the whole system, every patient, or one Group's members. */
export type ExportLevel = { kind: 'system' } | { kind: 'patient' } | { kind: 'group'; id: string };

/** The needs of exporting one type: read and search of it for every patient (SMART `system/T.rs`). */
const needs = (type: string): Need[] => [
  { type, action: 'r', whole: true },
  { type, action: 's', whole: true },
];

function reaches(svc: Services, type: string): boolean {
  try {
    svc.access.authorize(svc, needs(type));
    return true;
  } catch (err) {
    if (err instanceof FhirError) return false;
    throw err;
  }
}

/** The Group's active members that are Patients, as ids (R4 Group.member.entity). */
async function groupMembers(svc: Services, id: string): Promise<string[]> {
  const row = await svc.store.current('Group', id);
  if (!row || row.deleted || !row.content) throw new FhirError('not-found', `Group/${id} is not known`);
  const group = JSON.parse(row.content) as Group;
  const ids = (group.member ?? [])
    .filter((m) => !m.inactive)
    .map((m) => /^Patient\/([^/]+)$/.exec(m.entity?.reference ?? '')?.[1])
    .filter((x): x is string => x !== undefined);
  return [...new Set(ids)];
}

/** The types a level may export before `_type` and access narrow them. */
async function candidateTypes(svc: Services, level: ExportLevel, snapshot: number): Promise<string[]> {
  if (level.kind === 'system') return typesWithVersions(svc.store.storage, snapshot);
  const members = [...(svc.defs.compartments.get('Patient')?.members.keys() ?? [])];
  return ['Patient', ...members.filter((t) => t !== 'Patient').sort()];
}

/**
 * The types to export: those asked for (`_type`, each one the caller must reach, else 403; at Patient
 * and Group level each in the Patient compartment, else 400), or without `_type` every candidate the
 * caller reaches — those left out are said in the warnings.
 */
async function exportTypes(
  svc: Services,
  level: ExportLevel,
  input: ExportInput,
  snapshot: number,
  warnings: OperationOutcomeIssue[],
): Promise<string[]> {
  const candidates = await candidateTypes(svc, level, snapshot);
  if (input.types) {
    const outside = input.types.find((t) => level.kind !== 'system' && !candidates.includes(t));
    if (outside)
      throw new FhirError('invalid', {
        message: `${outside} is not in the Patient compartment: a Patient or Group export cannot hold it`,
        expression: '_type',
      });
    for (const t of input.types) svc.access.authorize(svc, needs(t));
    return input.types;
  }
  const types = candidates.filter((t) => reaches(svc, t));
  const left = candidates.filter((t) => !types.includes(t));
  if (!types.length) svc.access.authorize(svc, needs('*'));
  if (left.length)
    warnings.push({
      severity: 'warning',
      code: 'suppressed',
      diagnostics: `Left out: the access token does not allow reading every ${left.join(', ')}`,
    });
  return types;
}

/** Checks every `_typeFilter` now (an unsupported search is 400 at kick-off, not a failed job). */
async function checkFilters(svc: Services, input: ExportInput, types: string[]): Promise<void> {
  for (const [type, queries] of input.filters) {
    if (input.types && !types.includes(type))
      throw new FhirError('invalid', {
        message: `_typeFilter names ${type}, which this export does not hold`,
        expression: '_typeFilter',
      });
    for (const q of queries) {
      try {
        await typeFilterWhere(svc, type, q);
      } catch (err) {
        if (!(err instanceof FhirError) || err.status !== 400) throw err;
        // the export's parameter is what the client named; the search's own complaint says why
        throw new FhirError('invalid', { message: `_typeFilter ${type}: ${err.message}`, expression: '_typeFilter' });
      }
    }
  }
}

/**
 * `includeAssociatedData`: LatestProvenanceResources (the reader must reach Provenance, else 403); any
 * other value is 400 naming it rather than ignored.
 */
function checkAssociated(svc: Services, input: ExportInput): boolean {
  const other = input.associated.find((v) => v !== LATEST_PROVENANCE);
  if (!other && input.associated.length) svc.access.authorize(svc, needs('Provenance'));
  if (!other) return input.associated.length > 0;
  throw new FhirError('invalid', {
    message: `includeAssociatedData '${other}' is not supported (only ${LATEST_PROVENANCE})`,
    expression: 'includeAssociatedData',
    code: 'not-supported',
  });
}

/** The plan of a kick-off at its snapshot, and the warnings for the manifest's error file. */
export async function makePlan(
  svc: Services,
  level: ExportLevel,
  input: ExportInput,
  snapshot: number,
): Promise<{ plan: ExportPlan; warnings: OperationOutcomeIssue[] }> {
  const associated = checkAssociated(svc, input);
  const warnings: OperationOutcomeIssue[] = input.ignored.map((name) => ({
    severity: 'warning',
    code: 'not-supported',
    diagnostics: `Unknown parameter '${name}' was ignored`,
    expression: [name],
  }));
  const types = await exportTypes(svc, level, input, snapshot, warnings);
  await checkFilters(svc, input, types);
  let patients: ExportPlan['patients'];
  if (level.kind === 'group') {
    // `patient` at Group level narrows the members (Bulk Data IG); it never adds a non-member
    const members = await groupMembers(svc, level.id);
    patients = input.patients ? members.filter((p) => input.patients?.includes(p)) : members;
  } else if (level.kind === 'patient') patients = input.patients ?? 'all';
  const plan: ExportPlan = {
    types,
    snapshot,
    since: input.since,
    until: input.until,
    elements: input.elements,
    filters: Object.fromEntries(input.filters),
    patients,
    // a Provenance type exported whole already holds every associated Provenance
    latestProvenance: associated && !types.includes('Provenance'),
  };
  return { plan, warnings };
}
