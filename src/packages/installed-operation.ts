import type { Parameters } from '@medplum/fhirtypes';
import type { Operation } from '../fhir/operations/types.js';
import { installedPackages } from '../storage/package-tables.js';

/**
 * `GET [base]/$installed-packages`: the FHIR packages installed on this server, one `package` part each
 * (name, version, mode, when, how many resources). Read from the one database, so every node answers alike.
 */
export const installedPackagesOperation: Operation = {
  name: 'installed-packages',
  definition: 'http://forlop.no/fhir/OperationDefinition/installed-packages',
  levels: ['system'],
  methods: ['GET'],
  // what is installed is conformance information, like the CapabilityStatement: any caller may read it
  access: () => [],
  async handler(svc) {
    const db = svc.store.storage;
    const rows = await installedPackages(db);
    const out: Parameters = {
      resourceType: 'Parameters',
      parameter: rows.map((p) => ({
        name: 'package',
        part: [
          { name: 'name', valueString: p.name },
          { name: 'version', valueString: p.version },
          { name: 'mode', valueCode: p.mode },
          { name: 'installed', valueInstant: new Date(p.installed).toISOString() },
          { name: 'resources', valueInteger: (JSON.parse(p.resources) as string[]).length },
        ],
      })),
    };
    return { status: 200, resource: out };
  },
};
