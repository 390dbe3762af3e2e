import type { Attachment, Parameters, ParametersParameter } from '@medplum/fhirtypes';
import { FhirError } from '../fhir/errors.js';
import { operationInput } from '../fhir/operations/parameters.js';
import type { Operation } from '../fhir/operations/types.js';
import { installPackage, type InstallMode, type InstallReport } from './install.js';
import { readPackageBytes } from './read.js';

const MODES: readonly InstallMode[] = ['install', 'store-only'];

/** The package's bytes: the `package` Attachment's base64 `data` (a `.tgz`, as a registry serves it). */
function packageBytes(input: Map<string, unknown[]>): Buffer {
  const [attachment, more] = (input.get('package') ?? []) as Attachment[];
  if (!attachment || more || typeof attachment !== 'object' || typeof attachment.data !== 'string')
    throw new FhirError('invalid', {
      message: 'Give one package: a Parameters parameter `package` with valueAttachment.data (the .tgz, base64)',
      expression: 'package',
    });
  if (!/^[A-Za-z0-9+/\s]*={0,2}\s*$/.test(attachment.data))
    throw new FhirError('invalid', { message: 'package.data is not base64', expression: 'package' });
  return Buffer.from(attachment.data, 'base64');
}

function modeOf(input: Map<string, unknown[]>): InstallMode {
  const [mode = 'install'] = (input.get('mode') ?? []) as string[];
  if (!MODES.includes(mode as InstallMode))
    throw new FhirError('invalid', { message: `mode must be one of ${MODES.join(', ')}`, expression: 'mode' });
  return mode as InstallMode;
}

/** The report as the operation's output parameters (OperationDefinition install-package). */
export function reportParameters(report: InstallReport): Parameters {
  const parameter: ParametersParameter[] = [
    { name: 'name', valueString: report.name },
    { name: 'version', valueString: report.version },
    { name: 'mode', valueCode: report.mode },
    { name: 'index', valueCode: report.index },
    { name: 'created', valueInteger: report.created },
    { name: 'updated', valueInteger: report.updated },
    { name: 'unchanged', valueInteger: report.unchanged },
    ...report.activated.map((url) => ({ name: 'activated', valueCanonical: url })),
    ...report.reindexedTypes.map((type) => ({ name: 'reindexed-type', valueCode: type })),
    { name: 'reindexed', valueInteger: report.reindexed },
    ...report.resources.map((reference) => ({ name: 'resource', valueReference: { reference } })),
  ];
  return { resourceType: 'Parameters', parameter };
}

/**
 * `POST [base]/$install-package`: installs a FHIR (npm) package sent as a Parameters body — `package`: an
 * Attachment with the `.tgz` as base64 data; `mode`: `install` (default) or `store-only`; `examples`:
 * true to install `package/example/` too. While the server serves; see installPackage for what it does.
 */
export const installPackageOperation: Operation = {
  name: 'install-package',
  definition: 'http://forlop.no/fhir/OperationDefinition/install-package',
  levels: ['system'],
  methods: ['POST'],
  // what it needs depends on the types in the package: installPackage asks for create and update of each
  access: () => [],
  async handler(svc, req) {
    const input = operationInput(req);
    const mode = modeOf(input);
    const examples = ((input.get('examples') ?? []) as string[])[0] === 'true';
    const pkg = await readPackageBytes(packageBytes(input), { examples });
    const report = await installPackage(svc, pkg, mode);
    return { status: 200, resource: reportParameters(report) };
  },
};
