import type { CodeableConcept, Coding, Resource, ValueSet } from '@medplum/fhirtypes';
import { FhirError } from '../../fhir/errors.js';
import { operationInput } from '../../fhir/operations/parameters.js';
import type { Operation } from '../../fhir/operations/types.js';
import type { FhirRequest, FhirResponse } from '../../fhir/request.js';
import type { Services } from '../../fhir/services.js';
import type { ExpandSettings } from '../expand.js';
import { txError, txIssue } from '../issues.js';
import { parseLanguages } from '../language.js';
import { TERMINOLOGY_TYPES, TerminologyContext, type TerminologyResource, type TerminologyType } from '../source.js';
import { splitCanonical } from '../versions.js';

const EXPANSION_PARAMETER = 'http://hl7.org/fhir/StructureDefinition/valueset-expansion-parameter';

/**
 * Typed access to a terminology operation's parameters, from the query string or a Parameters
 * body alike. A malformed value is a 400 naming the parameter.
 */
export class TxInput {
  private readonly map: Map<string, unknown[]>;

  constructor(readonly req: FhirRequest) {
    this.map = operationInput(req);
  }

  has(name: string): boolean {
    return this.map.has(name);
  }

  /**
   * Takes the expansion parameters a value set states for itself (the `valueset-expansion-parameter`
   * extension on compose, R5 and the tools IG) as if the client had sent them, unless it sent its own.
   */
  useValueSetDefaults(vs: ValueSet | undefined): void {
    for (const ext of vs?.compose?.extension ?? []) {
      if (ext.url !== EXPANSION_PARAMETER) continue;
      const name = ext.extension?.find((e) => e.url === 'name')?.valueCode;
      const part = ext.extension?.find((e) => e.url === 'value');
      const key = part && Object.keys(part).find((k) => k.startsWith('value'));
      const value = key ? (part as unknown as Record<string, unknown>)[key] : undefined;
      if (!name || value === undefined || this.map.has(name)) continue;
      this.map.set(name, [typeof value === 'number' || typeof value === 'boolean' ? String(value) : value]);
    }
  }

  string(name: string): string | undefined {
    const v = this.map.get(name)?.[0];
    if (v === undefined) return undefined;
    if (typeof v !== 'string')
      throw new FhirError('invalid', { message: `Parameter '${name}' must be a primitive value`, expression: name });
    return v;
  }

  strings(name: string): string[] {
    return (this.map.get(name) ?? []).filter((v): v is string => typeof v === 'string');
  }

  boolean(name: string, fallback: boolean): boolean;
  boolean(name: string): boolean | undefined;
  boolean(name: string, fallback?: boolean): boolean | undefined {
    const v = this.string(name);
    if (v === undefined) return fallback;
    if (v !== 'true' && v !== 'false')
      throw new FhirError('invalid', {
        message: `Parameter '${name}' must be true or false, not '${v}'`,
        expression: name,
      });
    return v === 'true';
  }

  integer(name: string): number | undefined {
    const v = this.string(name);
    if (v === undefined) return undefined;
    if (!/^\d+$/.test(v))
      throw new FhirError('invalid', {
        message: `Parameter '${name}' must be a non-negative integer, not '${v}'`,
        expression: name,
      });
    return Number(v);
  }

  resource<T extends Resource>(name: string, type: string): T | undefined {
    const v = this.map.get(name)?.[0];
    if (v === undefined) return undefined;
    if (typeof v !== 'object' || (v as Resource).resourceType !== type) {
      throw new FhirError('invalid', { message: `Parameter '${name}' must be a ${type} resource`, expression: name });
    }
    return v as T;
  }

  complex<T>(name: string): T | undefined {
    const v = this.map.get(name)?.[0];
    if (v === undefined) return undefined;
    if (typeof v !== 'object')
      throw new FhirError('invalid', { message: `Parameter '${name}' must be a complex value`, expression: name });
    return v as T;
  }

  coding(name: string): Coding | undefined {
    return this.complex<Coding>(name);
  }

  codeableConcept(name: string): CodeableConcept | undefined {
    return this.complex<CodeableConcept>(name);
  }

  /** `system-version` style parameters: canonical `url|version` values, as a map. */
  canonicalMap(name: string): Map<string, string> {
    const out = new Map<string, string>();
    for (const v of this.strings(name)) {
      const [url, version] = splitCanonical(v);
      if (!version)
        throw new FhirError('invalid', {
          message: `Parameter '${name}' takes url|version, not '${v}'`,
          expression: name,
        });
      out.set(url, version);
    }
    return out;
  }

  /** The languages to show: `displayLanguage`, else the Accept-Language header. */
  languages(): string[] {
    return parseLanguages(this.languageList());
  }

  /** The language list as given (`displayLanguage`, else Accept-Language). */
  languageList(): string | undefined {
    const asked = this.string('displayLanguage');
    // each tag must be a BCP 47 language tag (or `*`), with an optional weight
    const tag = /^\s*(\*|[A-Za-z]{1,8}(-[A-Za-z0-9]{1,8})*)\s*(;\s*q=[0-9.]+\s*)?$/;
    if (asked !== undefined && !asked.split(',').every((part) => tag.test(part)))
      throw txError(
        'invalid',
        txIssue('error', 'processing', 'invalid-display', `Invalid displayLanguage: '${asked}'`),
      );
    return asked ?? this.req.headers.acceptLanguage;
  }

  settings(svc: Services, activeOnly = false): ExpandSettings {
    return {
      activeOnly: this.boolean('activeOnly', activeOnly),
      systemVersions: this.canonicalMap('system-version'),
      forceSystemVersions: this.canonicalMap('force-system-version'),
      checkSystemVersions: this.canonicalMap('check-system-version'),
      valueSetVersions: this.canonicalMap('default-valueset-version'),
      versionsMatch: this.boolean('versionsMatch', true),
    };
  }

  /** The terminology view for this request: the store plus any `tx-resource` sent along. */
  async context(svc: Services): Promise<TerminologyContext> {
    // an inline codeSystem ($validate-code, $lookup) is looked up like any other
    const overlay = [...(this.map.get('tx-resource') ?? []), ...(this.map.get('codeSystem') ?? [])].map((r, i) => {
      const res = r as TerminologyResource;
      if (!res || typeof res !== 'object' || !TERMINOLOGY_TYPES.includes(res.resourceType)) {
        throw new FhirError('invalid', {
          message: 'tx-resource takes CodeSystem, ValueSet or ConceptMap resources',
          expression: `tx-resource[${i}]`,
        });
      }
      return res;
    });
    return new TerminologyContext(svc.terminology, await svc.terminology.generation(), overlay);
  }
}

/**
 * A terminology operation as the specification defines them all: type and instance level, GET and
 * POST, HL7's OperationDefinition `[type]-[name]`. The handler gets typed input and the terminology
 * context of the request (the store at one generation, plus its tx-resources).
 */
export function txOperation(
  resourceType: TerminologyType,
  name: string,
  run: (
    svc: Services,
    input: TxInput,
    ctx: TerminologyContext,
    target: { type?: string; id?: string },
  ) => Promise<FhirResponse>,
): Operation {
  return {
    name,
    definition: `http://hl7.org/fhir/OperationDefinition/${resourceType}-${name}`,
    levels: ['type', 'instance'],
    resourceTypes: [resourceType],
    methods: ['GET', 'POST'],
    async handler(svc, req, target) {
      const input = new TxInput(req);
      return run(svc, input, await input.context(svc), target);
    },
  };
}
