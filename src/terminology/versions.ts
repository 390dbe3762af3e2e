/**
 * Comparing and matching business versions of canonical resources. Versions are compared part by
 * part, numerically where both parts are numbers (so 1.10 > 1.9), else as text; a missing version
 * is lowest. A requested version may end in a wildcard (`1.x`, `1.0.*`), as in the HL7 tests.
 */
export function compareVersions(a: string | undefined, b: string | undefined): number {
  if (a === b) return 0;
  if (a === undefined) return -1;
  if (b === undefined) return 1;
  const pa = a.split(/[.-]/);
  const pb = b.split(/[.-]/);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const x = pa[i];
    const y = pb[i];
    if (x === undefined) return -1;
    if (y === undefined) return 1;
    const nx = /^\d+$/.test(x) ? Number(x) : NaN;
    const ny = /^\d+$/.test(y) ? Number(y) : NaN;
    const c = !Number.isNaN(nx) && !Number.isNaN(ny) ? nx - ny : x.localeCompare(y);
    if (c !== 0) return c < 0 ? -1 : 1;
  }
  return 0;
}

/** Whether a requested version has wildcard parts (`1.x`, `1.0.*`). */
export function isWildcard(wanted: string): boolean {
  return /(^|\.)[x*](\.|$)/.test(wanted);
}

/** Whether `version` satisfies `wanted` (exact, or with `x`/`*` wildcard parts). */
export function versionMatches(wanted: string, version: string | undefined): boolean {
  if (version === undefined) return false;
  if (wanted === version) return true;
  if (!isWildcard(wanted)) return false;
  const w = wanted.split('.');
  const v = version.split('.');
  return w.every((part, i) => part === 'x' || part === '*' || part === v[i]);
}

/** Splits `url|version`. */
export function splitCanonical(canonical: string): [string, string | undefined] {
  const bar = canonical.indexOf('|');
  return bar < 0 ? [canonical, undefined] : [canonical.slice(0, bar), canonical.slice(bar + 1) || undefined];
}

/** The highest of some versions. */
export function latest<T extends { version?: string }>(items: T[]): T | undefined {
  return items.reduce<T | undefined>(
    (best, it) => (best === undefined || compareVersions(it.version, best.version) > 0 ? it : best),
    undefined,
  );
}
