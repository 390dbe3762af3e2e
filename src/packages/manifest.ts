import { FhirError } from '../fhir/errors.js';

/** `package/package.json` as far as this server reads it (FHIR NPM Package spec; hl7.org/fhir/packages.html). */
export interface PackageManifest {
  name: string;
  version: string;
  fhirVersions: string[];
  /** Package name → version (exact, `1.0.x`, or `latest`/`current`/`*`: any). */
  dependencies: Record<string, string>;
  /** Everything else in the file, kept as it is. */
  raw: Record<string, unknown>;
}

/** The FHIR versions this server is: R4 in any of its technical corrections. */
const R4 = /^4\.0(\.\d+|\.x)?$/;
// npm names are lowercase with dots and dashes; FHIR package names are dot-separated namespaces
const NAME = /^[a-zA-Z0-9][a-zA-Z0-9._-]*$/;

function refuse(message: string, expression: string): FhirError {
  return new FhirError('unprocessable', { message, expression: `package.json.${expression}` });
}

/**
 * Reads and checks a package manifest: a name and a version, FHIR version 4.0.x among `fhirVersions`
 * (or the older `fhir-version-list`), dependencies as name → version strings. Anything else is kept.
 */
export function parseManifest(text: string): PackageManifest {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new FhirError('invalid', { message: `package/package.json is not JSON: ${(err as Error).message}` });
  }
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw refuse('package.json is not a JSON object', 'name');
  const m = raw as Record<string, unknown>;
  if (typeof m.name !== 'string' || !NAME.test(m.name)) throw refuse('The package has no valid name', 'name');
  if (typeof m.version !== 'string' || !m.version.trim()) throw refuse('The package has no version', 'version');
  const fhirVersions = m.fhirVersions ?? m['fhir-version-list'];
  if (!Array.isArray(fhirVersions) || !fhirVersions.every((v) => typeof v === 'string') || !fhirVersions.length)
    throw refuse(`Package ${m.name}#${m.version} does not say its FHIR version (fhirVersions)`, 'fhirVersions');
  if (!fhirVersions.some((v) => R4.test(v)))
    throw refuse(
      `Package ${m.name}#${m.version} is for FHIR ${fhirVersions.join(', ')}; this server is FHIR R4 (4.0.1)`,
      'fhirVersions',
    );
  return {
    name: m.name,
    version: m.version,
    fhirVersions: fhirVersions as string[],
    dependencies: dependenciesOf(m),
    raw: m,
  };
}

function dependenciesOf(m: Record<string, unknown>): Record<string, string> {
  const deps = m.dependencies ?? {};
  if (typeof deps !== 'object' || Array.isArray(deps) || deps === null)
    throw refuse('dependencies must be an object of package name → version', 'dependencies');
  for (const [name, version] of Object.entries(deps))
    if (typeof version !== 'string') throw refuse(`The version of dependency ${name} is not a string`, 'dependencies');
  return deps as Record<string, string>;
}
