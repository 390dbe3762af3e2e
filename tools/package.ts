// `npm run package`: publishes the server's own conformance as a FHIR package (docs/packages.md).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { writePackage, type PublishManifest } from '../src/packages/publish.js';
import { STARTUP_DEFINITIONS } from '../src/server.js';

const ROOT = join(import.meta.dirname, '..');

/** Our package's name: FHIR package names are dot-separated namespaces, the FHIR release last. */
export const PACKAGE_NAME = 'forlop.fhir.r4';

/** Its manifest: the version is the server's (package.json), the canonical base ours. */
export function ownManifest(): PublishManifest {
  const { version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
  return {
    name: PACKAGE_NAME,
    version,
    canonical: 'http://forlop.no/fhir',
    title: 'Forløp: Norwegian patient pathways in mental health and substance use',
    description:
      'The conformance of the Forløp FHIR R4 server: the pathway PlanDefinitions and their Questionnaire, ' +
      'profiles and extensions, SearchParameters, OperationDefinitions, the pathway terminology (CodeSystems, ' +
      'ValueSets, ConceptMaps), the quality indicator Measures and the subscription topics (Basic).',
    license: 'Apache-2.0',
    author: 'Forløp',
  };
}

/**
 * What the server ships, as a start-up loads it (STARTUP_DEFINITIONS: the one list of what is shipped), in a
 * package file `dist/package/forlop.fhir.r4-<version>.tgz` (or under `outDir`). Returns its path.
 */
export async function buildOwnPackage(outDir = join(ROOT, 'dist', 'package')): Promise<string> {
  const manifest = ownManifest();
  const resources = STARTUP_DEFINITIONS.flatMap(([, , shipped]) => shipped());
  const file = join(outDir, `${manifest.name}-${manifest.version}.tgz`);
  await writePackage(manifest, resources, file);
  return file;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  buildOwnPackage()
    .then((file) => process.stdout.write(`${file}\n`))
    .catch((err: unknown) => {
      process.stderr.write(`package: ${(err as Error).message}\n`);
      process.exit(1);
    });
}
