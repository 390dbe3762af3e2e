import { FhirError } from '../fhir/errors.js';
import type { PackageManifest } from './manifest.js';

/** A package name and the version of it that is present. */
export interface PresentPackage {
  name: string;
  version: string;
}

/** The definitions the server has built in (the R4 specification's own): a package may depend on them. */
export const BUILT_IN_PACKAGES: readonly PresentPackage[] = [{ name: 'hl7.fhir.r4.core', version: '4.0.1' }];

/**
 * Whether a present version satisfies a dependency's version: the same, or the same up to an `x` part
 * (`1.0.x`), or any for `latest`, `current`, `dev` and `*` (the package spec's names for "whatever is
 * newest"; a server that installs offline can only take what it has).
 */
export function satisfies(present: string, wanted: string): boolean {
  if (['latest', 'current', 'dev', '*', ''].includes(wanted.trim())) return true;
  const want = wanted.trim().split('.');
  const have = present.split('.');
  return want.length === have.length && want.every((part, i) => part === 'x' || part === have[i]);
}

/**
 * Refuses a package whose dependencies are not all present (installed, or built in): one OperationOutcome
 * with an issue for each missing one, so the installer learns everything to install first in one answer.
 */
export function checkDependencies(manifest: PackageManifest, installed: readonly PresentPackage[]): void {
  const present = [...BUILT_IN_PACKAGES, ...installed];
  const missing = Object.entries(manifest.dependencies).filter(
    ([name, version]) => !present.some((p) => p.name === name && satisfies(p.version, version)),
  );
  if (!missing.length) return;
  throw new FhirError(
    'unprocessable',
    missing.map(([name, version]) => {
      const other = installed.find((p) => p.name === name);
      return {
        code: 'not-found' as const,
        message:
          `Package ${manifest.name}#${manifest.version} depends on ${name}#${version}, which is not installed` +
          (other ? ` (${name}#${other.version} is)` : ''),
        expression: `package.json.dependencies.${name}`,
      };
    }),
  );
}
