import type { TerminologyCapabilities } from '@medplum/fhirtypes';
import type { Services } from '../fhir/services.js';

/**
 * `GET /metadata?mode=terminology` (R4 §4.11 TerminologyCapabilities): what the terminology
 * operations support. The code systems themselves are ordinary resources: clients list them with
 * `GET CodeSystem?_elements=url,version,title`.
 */
export function terminologyCapabilities(svc: Services, version: string): TerminologyCapabilities {
  return {
    resourceType: 'TerminologyCapabilities',
    version,
    name: 'ForlopTerminologyCapabilities',
    title: 'Forløp terminology capabilities',
    status: 'active',
    date: svc.clock.now().toISOString(),
    publisher: 'Forløp',
    kind: 'instance',
    software: { name: 'Forløp', version },
    implementation: { description: 'Forløp terminology service', url: svc.baseUrl },
    lockedDate: false,
    codeSearch: 'all',
    expansion: {
      hierarchical: true,
      paging: true,
      incomplete: false,
      parameter: [
        'filter',
        'count',
        'offset',
        'includeDesignations',
        'includeDefinition',
        'activeOnly',
        'excludeNested',
        'displayLanguage',
        'system-version',
        'force-system-version',
        'check-system-version',
        'default-valueset-version',
        'property',
        'useSupplement',
        'tx-resource',
      ].map((name) => ({ name })),
      textFilter:
        'Every word of the filter must begin a word of the display or the code (case- and accent-insensitive).',
    },
    validateCode: { translations: false },
    translation: { needsMap: false },
    closure: { translation: false },
  };
}
