import type {
  CapabilityStatement,
  CapabilityStatementRest,
  CapabilityStatementRestResource,
  CapabilityStatementRestResourceSearchParam,
  CapabilityStatementRestSecurity,
} from '@medplum/fhirtypes';
import { ROUTES, SYSTEM_INTERACTIONS } from './routes.js';
import type { Services } from './services.js';

/** The FHIR version this server speaks (CapabilityStatement.fhirVersion, `$versions`). */
export const FHIR_VERSION = '4.0.1';

const SEARCHABLE = new Set(['token', 'string', 'reference', 'date', 'number', 'quantity', 'uri', 'composite']);

/** What the statement says of the software: its version and the date of that release. */
export interface Release {
  version: string;
  /** YYYY-MM-DD (CapabilityStatement.software.releaseDate). */
  date: string;
}

/** How clients authenticate, for `rest.security` (SMART on FHIR: where to get a token). */
export interface SecurityInfo {
  tokenEndpoint: string;
  authorizationEndpoint?: string;
  cors: boolean;
}

const REST_DOCUMENTATION =
  'JSON only. Search: all parameter types incl. composite, chaining, _has, _include/_revinclude (:iterate), Patient compartment search, :of-type and reference :identifier. Token :in/:not-in take a ValueSet url and :above/:below a system|code; they are answered from the terminology service (at most 5,000 codes). Not supported: _text, _content, _list, _query; searching by them is refused (400), and unknown parameters are reported in an outcome entry. _total=estimate is answered with the accurate count. A date parameter given with a lower and an upper bound (ge/gt/sa with le/lt/eb) matches resources with one value inside the range.';

/**
 * FHIR's own SearchParameters are not stored here (about 1,400, and every client has them): the
 * statement names no canonical it cannot serve, so a core parameter is listed by name and type only
 * (CapabilityStatement.rest.resource.searchParam.definition is 0..1, R4 §6.1).
 */
const CORE_SEARCH_PARAMETER = 'http://hl7.org/fhir/SearchParameter/';

/** The search parameters every type has, listed once at system level (a new list each time: callers may edit it). */
function systemSearchParams(): CapabilityStatementRestResourceSearchParam[] {
  return [
    { name: '_id', type: 'token' },
    { name: '_lastUpdated', type: 'date' },
  ];
}

/**
 * GET /metadata (R4 §3.1.0.13): generated from the route table and the loaded definitions, listing
 * only what has a handler and only the search parameters the index extracts.
 */
export function capabilityStatement(svc: Services, release: Release, security?: SecurityInfo): CapabilityStatement {
  const rest = restCapability(svc, security);
  return {
    resourceType: 'CapabilityStatement',
    // the statement of this instance, at the URL that serves it
    url: `${svc.baseUrl}/metadata`,
    version: release.version,
    name: 'ForlopCapabilityStatement',
    title: 'Forløp FHIR R4 server',
    status: 'active',
    date: svc.clock.now().toISOString(),
    publisher: 'Forløp',
    kind: 'instance',
    software: { name: 'Forløp', version: release.version, releaseDate: release.date },
    implementation: {
      description: 'Forløp FHIR R4 server for the Norwegian patient pathways in mental health and substance use',
      url: svc.baseUrl,
    },
    fhirVersion: FHIR_VERSION,
    format: ['application/fhir+json', 'json', 'application/fhir+xml', 'xml'],
    patchFormat: ['application/json-patch+json'],
    rest: [rest],
  };
}

/** The one `rest` entry: every resource type, and what the server does at system level. */
function restCapability(svc: Services, security: SecurityInfo | undefined): CapabilityStatementRest {
  const typeLevel = ROUTES.filter((r) => r.level !== 'system' && r.interaction);
  const interactions = [...new Set(typeLevel.map((r) => r.interaction as string))];
  const resources = [...svc.defs.resourceTypes].sort().map((type) => resourceCapability(svc, type, interactions));
  return {
    mode: 'server',
    documentation: REST_DOCUMENTATION,
    ...(security ? { security: restSecurity(security) } : {}),
    resource: resources,
    interaction: SYSTEM_INTERACTIONS.map((code) => ({ code })),
    compartment: [...svc.defs.compartments.values()].map((c) => c.url),
    operation: svc.operations
      .filter((o) => o.levels.includes('system'))
      .map((o) => ({ name: o.name, definition: o.definition })),
    searchParam: systemSearchParams(),
  };
}

function resourceCapability(svc: Services, type: string, interactions: string[]): CapabilityStatementRestResource {
  return {
    // no `profile`: its absence means the base resource (R4 §6.1, rest.resource.profile 0..1), and
    // the base StructureDefinitions are FHIR's, not served here; our own profiles are supportedProfile
    type: type as CapabilityStatementRestResource['type'],
    ...(svc.validator.supportedProfiles(type).length
      ? { supportedProfile: svc.validator.supportedProfiles(type) }
      : {}),
    // the audit trail is written once (R4 AuditEvent is a record, never edited)
    interaction: interactions
      .filter((code) => type !== 'AuditEvent' || !['update', 'patch', 'delete'].includes(code))
      .map((code) => ({ code: code as never })),
    versioning: 'versioned-update',
    readHistory: true,
    updateCreate: true,
    conditionalCreate: true,
    conditionalRead: 'full-support',
    conditionalUpdate: true,
    conditionalDelete: 'single',
    referencePolicy: ['literal'],
    searchParam: searchParams(svc, type),
    operation: svc.operations
      .filter((o) => o.levels.some((l) => l !== 'system') && (!o.resourceTypes || o.resourceTypes.includes(type)))
      .map((o) => ({ name: o.name, definition: o.definition })),
  };
}

/** `rest.security`: SMART on FHIR, with the OAuth endpoints in the oauth-uris extension. */
function restSecurity(security: SecurityInfo): CapabilityStatementRestSecurity {
  return {
    cors: security.cors,
    service: [
      {
        coding: [
          {
            system: 'http://terminology.hl7.org/CodeSystem/restful-security-service',
            code: 'SMART-on-FHIR',
          },
        ],
      },
    ],
    description:
      'OAuth 2.0 bearer tokens (JWT, RS256/ES256) with SMART v1/v2 scopes; patient/ scopes are limited to the Patient compartment. Discovery: .well-known/smart-configuration.',
    extension: [
      {
        url: 'http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris',
        extension: [
          { url: 'token', valueUri: security.tokenEndpoint },
          ...(security.authorizationEndpoint ? [{ url: 'authorize', valueUri: security.authorizationEndpoint }] : []),
        ],
      },
    ],
  };
}

function searchParams(svc: Services, type: string): CapabilityStatementRestResourceSearchParam[] {
  const out: CapabilityStatementRestResourceSearchParam[] = [];
  for (const [code, sp] of svc.defs.searchParams.get(type) ?? []) {
    if ((!sp.expression && code !== '_id' && code !== '_lastUpdated') || !SEARCHABLE.has(sp.type as string)) continue;
    const served = sp.url && !sp.url.startsWith(CORE_SEARCH_PARAMETER);
    const paramType = sp.type as CapabilityStatementRestResourceSearchParam['type'];
    out.push({ name: code, ...(served ? { definition: sp.url } : {}), type: paramType });
  }
  return out;
}
