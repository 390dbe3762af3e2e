import type { Coding, ValueSet } from '@medplum/fhirtypes';
import { entriesWithCode, expandValueSet, type ExpandSettings, type ExpansionEntry } from './expand.js';
import type { TerminologyContext } from './source.js';
import { splitCanonical } from './versions.js';

/** Expansion settings for membership checks: every code, inactive ones too, at the versions the value set names. */
export const MEMBERSHIP_SETTINGS: ExpandSettings = {
  activeOnly: false,
  systemVersions: new Map(),
  forceSystemVersions: new Map(),
  checkSystemVersions: new Map(),
};

/** The Volven OID a code system is also known by (Norwegian data uses either as the system). */
export function oidOf(e: { cs?: { resource: { identifier?: unknown } } }): string | undefined {
  const ids = e.cs?.resource.identifier;
  const list = (Array.isArray(ids) ? ids : ids ? [ids] : []) as { value?: string }[];
  return list.find((i) => i.value?.startsWith('urn:oid:'))?.value;
}

/**
 * Whether an expansion entry is the coding: same code, and the same system by url or OID (any, when the coding has
 * none).
 */
export function entryMatches(e: ExpansionEntry, coding: { system?: string }): boolean {
  return !coding.system || e.system === coding.system || oidOf(e) === coding.system;
}

/**
 * Whether any of the codings is in the value set (canonical, optionally `|version`): true or false,
 * or undefined when the value set, or part of it, is not known here — membership cannot be decided.
 */
export async function inValueSet(
  ctx: TerminologyContext,
  canonical: string,
  codings: Coding[],
): Promise<boolean | undefined> {
  const [url, version] = splitCanonical(canonical);
  const vs = await ctx.find<ValueSet>('ValueSet', url, version);
  if (!vs) return undefined;
  const expanded = await expandValueSet(ctx, vs, MEMBERSHIP_SETTINGS).catch(() => undefined);
  if (!expanded || expanded.missing.length) return undefined;
  return codings.some((c) => c.code !== undefined && entriesWithCode(expanded, c.code).some((e) => entryMatches(e, c)));
}
