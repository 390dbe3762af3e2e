import type { BundleEntry, BundleLink, Resource } from '@medplum/fhirtypes';
import { bundle, fullUrl, withQuery } from '../../bundles.js';
import { FhirError } from '../../errors.js';
import type { Operation } from '../types.js';
import { readInput, type EverythingInput } from './input.js';
import { everythingPage } from '../../search/everything.js';
import { everythingScope } from './scope.js';

function links(base: string, input: EverythingInput, total: number, snapshot: number): BundleLink[] {
  const at = (offset: number, paging: boolean): string =>
    withQuery(base, [
      ...input.echo,
      ['_count', String(input.count)],
      ...(offset ? ([['_offset', String(offset)]] as [string, string][]) : []),
      ...(paging ? ([['_snapshot', String(snapshot)]] as [string, string][]) : []),
    ]);
  const out: BundleLink[] = [{ relation: 'self', url: at(input.offset, input.snapshot !== undefined) }];
  if (input.count > 0 && input.offset + input.count < total)
    out.push({ relation: 'next', url: at(input.offset + input.count, true) });
  if (input.offset > 0) out.push({ relation: 'previous', url: at(Math.max(0, input.offset - input.count), true) });
  return out;
}

function ignoredOutcome(ignored: string[]): BundleEntry[] {
  if (!ignored.length) return [];
  const issue = ignored.map((u) => ({
    severity: 'warning' as const,
    code: 'not-supported' as const,
    diagnostics: `Unknown parameter '${u}' was ignored`,
    expression: [u],
  }));
  return [{ resource: { resourceType: 'OperationOutcome', issue }, search: { mode: 'outcome' } }];
}

/**
 * `GET|POST [base]/Patient/[id]/$everything` and `[base]/Patient/$everything` (R4 Patient-everything):
 * the patient's compartment, the Patient itself, the Practitioners, Organizations and PlanDefinitions
 * its resources refer to and the Provenance of them, as a searchset Bundle. At type level: every patient
 * the caller may see (a `patient/` token: its own). `start`/`end` keep resources whose care date
 * overlaps the range (or that have none); `_since` those updated since; `_type` those types; `_count`
 * pages, over one snapshot taken on the first page, so writes made while paging never shift a page.
 */
export const everythingOperation: Operation = {
  name: 'everything',
  definition: 'http://forlop.no/fhir/OperationDefinition/Patient-everything',
  levels: ['instance', 'type'],
  resourceTypes: ['Patient'],
  methods: ['GET', 'POST'],
  // the Patient (one, or a search of them); the other types are kept to what the token reaches (scope.ts)
  access: (target) => [{ type: 'Patient', action: target.id ? 'r' : 's' }],
  async handler(svc, req, target) {
    const input = readInput(svc, req);
    if (target.id) {
      const row = await svc.store.current('Patient', target.id);
      if (!row || row.deleted) throw new FhirError('not-found', `Patient/${target.id} is not known`);
    }
    const snapshot = input.snapshot ?? (await svc.store.lastRid());
    const scope = everythingScope(svc, input);
    const { rows, total } = await everythingPage(svc, scope, target.id, input, { ...input, snapshot });
    const entries: BundleEntry[] = rows.map((row) => ({
      fullUrl: fullUrl(svc.baseUrl, row.type, row.id),
      resource: JSON.parse(row.content as string) as Resource,
      search: { mode: row.type === 'Patient' || scope.members.has(row.type) ? 'match' : 'include' },
    }));
    entries.push(...ignoredOutcome(input.ignored));
    const base = `${svc.baseUrl}/Patient/${target.id ? `${target.id}/` : ''}$everything`;
    const result = bundle('searchset', entries, links(base, input, total, snapshot), total, svc.clock.now());
    return { status: 200, resource: result };
  },
};
