import type { Resource } from '@medplum/fhirtypes';

/** JSON with object keys sorted, so two resources that say the same thing serialise the same. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
    entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** A resource without what the server stamps on each version (meta.versionId, meta.lastUpdated). */
function unstamped(resource: Resource): Resource {
  const { meta, ...rest } = resource;
  if (!meta) return rest as Resource;
  const { versionId: _v, lastUpdated: _l, ...kept } = meta;
  return (Object.keys(kept).length ? { ...rest, meta: kept } : rest) as Resource;
}

/**
 * Whether `next` says what `current` already says, apart from the version stamp: such an update
 * stores no new version (a client re-sending what it read, a journey loaded twice). Tags, profiles
 * and security labels in `meta` are content and count.
 */
export function sameContent(current: Resource, next: Resource): boolean {
  return canonical(unstamped(current)) === canonical(unstamped(next));
}
