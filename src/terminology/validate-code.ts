import type {
  CodeableConcept,
  Coding,
  OperationOutcomeIssue,
  Parameters,
  ParametersParameter,
  ValueSet,
} from '@medplum/fhirtypes';
import { STANDARDS_STATUS, type CodeSystemIndex, type Concept } from './codesystem.js';
import { entriesWithCode, type Expanded, type ExpandSettings, type SystemUse } from './expand.js';
import { txIssue } from './issues.js';
import { addWarnings, statusWarnings, type StatusWarning } from './status-warnings.js';
import { canonicalOf } from './supplements.js';
import { displayIn, languageMatches } from './language.js';
import type { TerminologyContext } from './source.js';
import { compareVersions, latest, splitCanonical, versionMatches } from './versions.js';

/** What `$validate-code` was asked (R4 ValueSet/CodeSystem `$validate-code`). */
export interface ValidateInput {
  /** How the code was given; decides the element paths in issues. */
  form: 'code' | 'coding' | 'codeableConcept';
  codings: Coding[];
  codeableConcept?: CodeableConcept;
  valueSet?: { resource: ValueSet; expanded: Expanded };
  /** Validating against a code system ($validate-code on CodeSystem): its url and version. */
  codeSystem?: { url: string; version?: string };
  /** A wrong display is a warning (true) or an error (false). */
  lenientDisplay: boolean;
  /** `valueset-membership-only` (tx ecosystem): whether the codes are in the value set, nothing more. */
  membershipOnly?: boolean;
  /** `abstract` (R4 `$validate-code`): false when an abstract (notSelectable) code is not valid here. */
  abstractAllowed?: boolean;
  languages: string[];
  settings: ExpandSettings;
}

interface CodingResult {
  issues: OperationOutcomeIssue[];
  /** The code exists in its (known) code system. */
  known: boolean;
  /** The code is a member of the value set (always true without one, when known). */
  member: boolean;
  /** No error was found for this coding on its own. */
  ok: boolean;
  cs?: CodeSystemIndex;
  concept?: Concept;
  coding: Coding;
  unknownSystem?: string;
  /** The unknown system is not one the value set draws on: it did not decide the answer. */
  unknownOutsideValueSet?: boolean;
}

/** Concept statuses that discourage use without making the code inactive (R5 concept-properties status). */
const DISCOURAGING = new Set(['deprecated', 'withdrawn', 'discouraged']);

/** The message ids (HL7 message catalogue) of the issues whose id does not depend on the case. */
const NOT_IN_VS = 'None_of_the_provided_codes_are_in_the_value_set_one';
/** A value set as messages name it: its canonical, or "(unidentified)" for one without a url (an inline one). */
const vsName = (vs: ValueSet) => (vs.url ? `${vs.url}${vs.version ? `|${vs.version}` : ''}` : '(unidentified)');
/** The code as given: `system|version#code`, the version only when the coding states one. */
const givenCode = (c: Coding) => `${c.system ?? ''}${c.version ? `|${c.version}` : ''}#${c.code ?? ''}`;
const notInValueSet = (vs: ValueSet, c: Coding) =>
  `The provided code '${givenCode(c)}${c.display !== undefined ? ` ('${c.display}')` : ''}' was not found in the value set '${vsName(vs)}'`;
/** The error that a coding is not in the value set, at the coding's code. */
const notInValueSetIssue = (vs: ValueSet, c: Coding, at: (e?: string) => string) =>
  txIssue('error', 'code-invalid', 'not-in-vs', notInValueSet(vs, c), at('code'), NOT_IN_VS);

/** Answers `$validate-code` as a Parameters resource: result, message, issues and the code's details. */
export async function validateCode(ctx: TerminologyContext, input: ValidateInput): Promise<Parameters> {
  const results: CodingResult[] = [];
  for (const [i, coding] of input.codings.entries())
    results.push(await checkCoding(ctx, input, coding, pathFor(input.form, i)));
  const issues = [...allIssues(input, results), ...standingIssues(input, results)];
  const best = input.form === 'codeableConcept' ? bestOfCodeableConcept(input, results, issues) : results[0];
  return { resourceType: 'Parameters', parameter: answerParameters(input, results, best, issues) };
}

/**
 * Issues about the standing of the definitions, not the code (left out of the message): notes on a
 * deprecated, withdrawn, draft or experimental code system or value set the answer relied on.
 */
function standingIssues(input: ValidateInput, results: CodingResult[]): OperationOutcomeIssue[] {
  const warnings: StatusWarning[] = [];
  if (input.valueSet) addWarnings(warnings, input.valueSet.expanded.statusWarnings);
  else for (const r of results) if (r.cs) addWarnings(warnings, statusWarnings(r.cs.resource));
  return warnings.map((w) =>
    quiet(
      txIssue(
        'information',
        'business-rule',
        'status-check',
        `Reference to ${w.kind} ${w.type} ${w.canonical}`,
        undefined,
        `MSG_${w.kind.toUpperCase()}`,
      ),
    ),
  );
}

/** Issues that are not about the code itself, and so are not repeated in the message. */
const QUIET = new WeakSet<OperationOutcomeIssue>();
function quiet(issue: OperationOutcomeIssue): OperationOutcomeIssue {
  QUIET.add(issue);
  return issue;
}

/** The issues of every coding, after those about parts of the value set that could not be found. */
function allIssues(input: ValidateInput, results: CodingResult[]): OperationOutcomeIssue[] {
  // when part of the value set could not be found, membership cannot be decided: say that instead
  const unknownParts = input.valueSet?.expanded.missingValueSets ?? [];
  if (unknownParts.length)
    for (const r of results) r.issues = r.issues.filter((i) => i.details?.coding?.[0].code !== 'not-in-vs');
  return [
    ...unknownParts.map((canonical) =>
      txIssue(
        'error',
        'not-found',
        'not-found',
        `A definition for the value Set '${canonical}' could not be found`,
        undefined,
        'Unable_to_resolve_value_Set_',
      ),
    ),
    ...results.flatMap((r) => r.issues),
  ];
}

/**
 * The coding of a CodeableConcept the answer is about: one valid and in the value set, else one in
 * it, else one known. Also adjusts the issues: one for the whole CodeableConcept when no coding is in
 * the value set, and a coding outside it becomes information (`issues` holds the results' objects).
 */
function bestOfCodeableConcept(
  input: ValidateInput,
  results: CodingResult[],
  issues: OperationOutcomeIssue[],
): CodingResult | undefined {
  const vs = input.valueSet?.resource;
  const unknownParts = input.valueSet?.expanded.missingValueSets ?? [];
  const best = results.find((r) => r.ok && r.member) ?? results.find((r) => r.member) ?? results.find((r) => r.known);
  // membership is undecided, not denied, when a code system (version) the value set draws on could
  // not be found; a coding in a system the value set does not use is outside it, known or not
  const undecided =
    unknownParts.length > 0 ||
    results.some(
      (r) =>
        (r.unknownSystem !== undefined && !r.unknownOutsideValueSet) ||
        (!r.known && r.cs?.resource.content === 'fragment'),
    );
  if (vs && !undecided && !results.some((r) => r.member)) {
    issues.unshift(
      txIssue(
        'error',
        'code-invalid',
        'not-in-vs',
        `No valid coding was found for the value set '${vsName(vs)}'`,
        undefined,
        'TX_GENERAL_CC_ERROR_MESSAGE',
      ),
    );
  }
  // when another coding carries the concept, a coding outside the value set is only information
  for (const r of results) {
    for (const issue of r.issues) {
      if (issue.details?.coding?.[0].code === 'not-in-vs') {
        issue.severity = 'information';
        (issue.details.coding[0] as Coding).code = 'this-code-not-in-vs';
      }
    }
  }
  return best;
}

/** The output parameters: the code's details (when it was found), the issues, the message and the result. */
function answerParameters(
  input: ValidateInput,
  results: CodingResult[],
  best: CodingResult | undefined,
  issues: OperationOutcomeIssue[],
): ParametersParameter[] {
  const result = !issues.some((i) => i.severity === 'error' || i.severity === 'fatal');
  const out: ParametersParameter[] = [];
  const coding = best?.coding ?? input.codings[0];
  // for a CodeableConcept, the code and system reported are those of a coding found in the value set
  const report = input.form !== 'codeableConcept' || (best?.known === true && best.member);
  if (report && coding?.code !== undefined) out.push({ name: 'code', valueCode: coding.code });
  // a code found without regard to case is given as sent, with the code system's own form beside it
  if (report && best?.concept && coding?.code !== undefined && best.concept.code !== coding.code)
    out.push({ name: 'normalized-code', valueCode: best.concept.code });
  if (input.form === 'codeableConcept' && input.codeableConcept)
    out.push({ name: 'codeableConcept', valueCodeableConcept: input.codeableConcept });
  // like code and system, a CodeableConcept's display is that of a coding found in the value set
  if (best?.concept && best.cs && report) {
    const display = displayIn(best.cs, best.concept, input.languages);
    if (display !== undefined) out.push({ name: 'display', valueString: display });
    if (best.concept.inactive) out.push({ name: 'inactive', valueBoolean: true });
    const status = best.concept.status;
    if (status && (best.concept.inactive || DISCOURAGING.has(status.toLowerCase())))
      out.push({ name: 'status', valueCode: status });
  }
  const messages = summaryMessages(issues);
  if (issues.length) out.push({ name: 'issues', resource: { resourceType: 'OperationOutcome', issue: issues } });
  if (messages.length) out.push({ name: 'message', valueString: messages.join('; ') });
  out.push({ name: 'result', valueBoolean: result });
  const system = best?.cs?.url ?? coding?.system;
  if (report && system) out.push({ name: 'system', valueUri: system });
  if (report && best?.cs?.version) out.push({ name: 'version', valueString: best.cs.version });
  for (const r of results)
    if (r.unknownSystem) {
      // tx ecosystem convention: "caused by" only when the value set depends on the unknown system
      const name = r.unknownOutsideValueSet ? 'x-unknown-system' : 'x-caused-by-unknown-system';
      out.push({ name, valueCanonical: r.unknownSystem });
    }
  return out;
}

/**
 * The texts of the message: what was found about the code itself, not the other codings of a
 * CodeableConcept that are outside the value set, nor a warning that the value set's version of the
 * system differs (that is about the value set).
 */
function summaryMessages(issues: OperationOutcomeIssue[]): string[] {
  const aboutValueSet = (i: OperationOutcomeIssue) =>
    i.severity === 'warning' && i.details?.coding?.[0].code === 'vs-invalid';
  return issues
    .filter((i) => i.details?.coding?.[0].code !== 'this-code-not-in-vs' && !aboutValueSet(i) && !QUIET.has(i))
    .map((i) => i.details?.text ?? '')
    .sort();
}

function pathFor(form: ValidateInput['form'], i: number): (element?: string) => string {
  if (form === 'code') return (e) => e ?? 'code';
  if (form === 'coding') return (e) => (e ? `Coding.${e}` : 'Coding');
  return (e) => `CodeableConcept.coding[${i}]${e ? `.${e}` : ''}`;
}

/** Checks one coding: its system and version, that its code exists and is in the value set, its display. */
async function checkCoding(
  ctx: TerminologyContext,
  input: ValidateInput,
  given: Coding,
  at: (e?: string) => string,
): Promise<CodingResult> {
  const coding = { ...given };
  const res: CodingResult = { issues: [], known: false, member: false, ok: false, coding };
  if (!coding.system && input.codeSystem) coding.system = input.codeSystem.url;
  // only a bare code may take its system from the value set: a Coding without one has no meaning
  if (!coding.system && input.form !== 'code') {
    res.issues.push(...systemlessCoding(input.valueSet, coding, at));
    return res;
  }
  if (!coding.system) {
    const inferred = inferSystem(input.valueSet, coding, at, res.issues);
    if (inferred === undefined) return res;
    coding.system = inferred;
  }
  const system = coding.system;
  const vsSystem = valueSetSystem(input, system, coding);
  res.issues.push(...versionIssues(system, coding, vsSystem, at));
  const cs = await findCodeSystem(ctx, input, system, coding, vsSystem, res, at);
  if (!cs) return res;
  res.cs = cs;
  const concept = cs.get(coding.code ?? '');
  if (!concept) {
    unknownCode(input, cs, coding, res, at);
    return res;
  }
  checkConcept(input, cs, concept, coding, res, at);
  return res;
}

/** A Coding (or a CodeableConcept's coding) without a system: a warning, and not in any value set. */
function systemlessCoding(
  vs: ValidateInput['valueSet'],
  coding: Coding,
  at: (e?: string) => string,
): OperationOutcomeIssue[] {
  const text =
    'Coding has no system. A code with no system has no defined meaning, and it cannot be validated. A system should be provided';
  return [
    txIssue('warning', 'invalid', 'invalid-data', text, at(), 'Coding_has_no_system__cannot_validate'),
    ...(vs ? [notInValueSetIssue(vs.resource, coding, at)] : []),
  ];
}

/**
 * A bare code against a value set: the system is implied when exactly one system in it has the
 * code. Otherwise undefined, with the issues saying so.
 */
function inferSystem(
  vs: ValidateInput['valueSet'],
  coding: Coding,
  at: (e?: string) => string,
  issues: OperationOutcomeIssue[],
): string | undefined {
  const code = coding.code ?? '';
  const systems = new Set(vs ? entriesWithCode(vs.expanded, code).map((e) => e.system) : []);
  if (systems.size === 1 && vs) return [...systems][0];
  // say why: several systems have the code, or none of the value set's systems does
  const why = systems.size
    ? `: value set expansion has multiple matches: [${[...systems].join(', ')}]`
    : vs?.expanded.systems.size
      ? `: none of the value set's code systems has it (${[...vs.expanded.systems.keys()].join(', ')})`
      : '';
  issues.push(
    txIssue(
      'error',
      'not-found',
      'cannot-infer',
      `The System URI could not be determined for the code '${code}' in the ValueSet '${vs ? vsName(vs.resource) : ''}'${why}`,
      at('code'),
      systems.size ? 'Unable_to_resolve_system__value_set_has_multiple_matches' : 'UNABLE_TO_INFER_CODESYSTEM',
    ),
    ...(vs ? [notInValueSetIssue(vs.resource, coding, at)] : []),
  );
  return undefined;
}

/**
 * How the value set uses the coding's system. The version the value set uses decides membership and
 * display; the coding's own version is checked against it (tx ecosystem semantics: a pinned include
 * makes a difference an error).
 */
function valueSetSystem(input: ValidateInput, system: string, coding: Coding): SystemUse | undefined {
  const vsSystem = input.valueSet?.expanded.systems.get(system);
  // a wildcard include (`1.x`) takes the coding's version when it fits the pattern
  if (
    vsSystem?.pattern &&
    coding.version &&
    /(^|\.)[x*](\.|$)/.test(vsSystem.pattern) &&
    versionMatches(vsSystem.pattern, coding.version)
  ) {
    return { ...vsSystem, version: coding.version };
  }
  const expanded = input.valueSet?.expanded;
  // a value set drawing on several versions of the system: a coding naming one of them is taken in it
  if (vsSystem && coding.version && expanded?.usedCodeSystems.has(`${system}|${coding.version}`))
    return { ...vsSystem, version: coding.version };
  // and a versionless code is the latest that has it (with the display given, when one has that display)
  const entries =
    coding.version || !expanded ? [] : entriesWithCode(expanded, coding.code ?? '').filter((e) => e.system === system);
  const versions = new Set(entries.map((e) => e.version));
  if (vsSystem && entries.length && (versions.size > 1 || !versions.has(vsSystem.version))) {
    const shown = entries.filter((e) => e.display === coding.display);
    return { ...vsSystem, version: latest(shown.length ? shown : entries)?.version };
  }
  // a code no version in the value set has is looked for in the latest version the value set uses
  const used = [...(expanded?.usedCodeSystems ?? [])].map(splitCanonical).filter(([url]) => url === system);
  if (vsSystem && !coding.version && !entries.length && used.length > 1)
    return { ...vsSystem, version: latest(used.map(([, version]) => ({ version })))?.version };
  return vsSystem;
}

/** The coding's version against the value set's version of the system, and a failed version check. */
function versionIssues(
  system: string,
  coding: Coding,
  vsSystem: SystemUse | undefined,
  at: (e?: string) => string,
): OperationOutcomeIssue[] {
  const issues: OperationOutcomeIssue[] = [];
  if (
    vsSystem &&
    coding.version &&
    vsSystem.version !== undefined &&
    !versionMatches(coding.version, vsSystem.version) &&
    !versionMatches(vsSystem.version, coding.version)
  ) {
    issues.push(versionMismatch(system, coding, vsSystem, at));
  }
  if (vsSystem?.failedCheck) {
    issues.push(
      txIssue(
        'error',
        'exception',
        'version-error',
        `The version '${vsSystem.version ?? ''}' is not allowed for system '${system}': required to be '${vsSystem.failedCheck}' by a version-check parameter`,
        at('version'),
        'VALUESET_VERSION_CHECK',
      ),
    );
  }
  return issues;
}

/**
 * The value set's version of a system differs from the coding's: an error when an include or a version
 * parameter chose it (naming the parameter's version and the include's), a warning when a versionless
 * include merely defaulted to the latest.
 */
function versionMismatch(
  system: string,
  coding: Coding,
  vsSystem: SystemUse,
  at: (e?: string) => string,
): OperationOutcomeIssue {
  const inValue = `is different to the one in the value ('${coding.version ?? ''}')`;
  if (vsSystem.changedBy !== undefined)
    return txIssue(
      'error',
      'invalid',
      'vs-invalid',
      `The code system '${system}' version '${vsSystem.changedBy}' resulting from the version '${vsSystem.includeVersion ?? ''}' in the ValueSet include ${inValue}`,
      at('version'),
      'VALUESET_VALUE_MISMATCH_CHANGED',
    );
  return txIssue(
    vsSystem.pinned ? 'error' : 'warning',
    'invalid',
    'vs-invalid',
    `The code system '${system}' version '${vsSystem.version ?? ''}' ${vsSystem.pinned ? 'in' : 'for the versionless include in'} the ValueSet include ${inValue}`,
    at('version'),
    vsSystem.pinned ? 'VALUESET_VALUE_MISMATCH' : 'VALUESET_VALUE_MISMATCH_DEFAULT',
  );
}

/** The code system (and version) the code is looked up in; undefined, with the issues, when it is not known. */
async function findCodeSystem(
  ctx: TerminologyContext,
  input: ValidateInput,
  system: string,
  coding: Coding,
  vsSystem: SystemUse | undefined,
  res: CodingResult,
  at: (e?: string) => string,
): Promise<CodeSystemIndex | undefined> {
  const vs = input.valueSet;
  // a system the value set does not draw on at all cannot be in it, known or not
  if (vs && !vs.expanded.systems.has(system) && !(await ctx.codeSystem(system, coding.version))) {
    res.issues.push(notInValueSetIssue(vs.resource, coding, at));
  }
  if (coding.version && vsSystem && !(await ctx.codeSystem(system, coding.version)))
    await unknownSystem(ctx, system, coding.version, res, at);
  const version = vsSystem
    ? vsSystem.version
    : (input.settings.forceSystemVersions.get(system) ??
      coding.version ??
      input.codeSystem?.version ??
      input.settings.systemVersions.get(system) ??
      input.settings.checkSystemVersions.get(system));
  const cs = await ctx.codeSystem(system, version);
  if (await misusedSystem(ctx, system, cs, res, at)) return undefined;
  if (!cs) {
    await unknownSystem(ctx, system, version, res, at);
    res.unknownOutsideValueSet = vs !== undefined && !vs.expanded.systems.has(system);
  }
  return cs;
}

/**
 * A Coding.system that cannot name a code system (R4 Coding.system: an absolute uri of one): a local
 * reference, a value set's url, or a supplement's. Noted as invalid data; true when no lookup is left.
 */
async function misusedSystem(
  ctx: TerminologyContext,
  system: string,
  cs: CodeSystemIndex | undefined,
  res: CodingResult,
  at: (e?: string) => string,
): Promise<boolean> {
  const invalid = (text: string, id: string) =>
    res.issues.push(txIssue('error', 'invalid', 'invalid-data', text, at('system'), id));
  if (!/^[a-z][a-z0-9+.-]*:/i.test(system)) {
    invalid('Coding.system must be an absolute reference, not a local reference', 'Terminology_TX_System_Relative');
    return false;
  }
  if (cs?.resource.content === 'supplement') {
    const text = `CodeSystem ${canonicalOf(cs.resource)} is a supplement, so can't be used as a value in Coding.system`;
    invalid(text, 'CODESYSTEM_CS_NO_SUPPLEMENT');
    res.unknownSystem = system;
    return true;
  }
  if (cs || !(await ctx.find('ValueSet', system))) return false;
  invalid(`The Coding references a value set, not a code system ('${system}')`, 'Terminology_TX_System_ValueSet2');
  return true;
}

/** Notes a code system (version) that cannot be found, naming the versions that can. */
async function unknownSystem(
  ctx: TerminologyContext,
  system: string,
  version: string | undefined,
  res: CodingResult,
  at: (e?: string) => string,
): Promise<void> {
  const known = (await ctx.all('CodeSystem', system))
    .map((r) => r.version)
    .filter((v): v is string => !!v)
    .sort(compareVersions);
  const cannot = 'could not be found, so the code cannot be validated';
  // a version of a system with no versions known: the system is what is missing, so it is the unknown one
  const [text, id, unknown] = !version
    ? [`A definition for CodeSystem '${system}' ${cannot}`, 'UNKNOWN_CODESYSTEM', system]
    : known.length
      ? [
          `A definition for CodeSystem '${system}' version '${version}' ${cannot}. Valid versions: ${known.join(' or ')}`,
          'UNKNOWN_CODESYSTEM_VERSION',
          `${system}|${version}`,
        ]
      : [
          `A definition for CodeSystem '${system}' version '${version}' ${cannot}. No versions of this code system are known`,
          'UNKNOWN_CODESYSTEM_VERSION_NONE',
          system,
        ];
  res.issues.push(txIssue('error', 'not-found', 'not-found', text, at('system'), id));
  res.unknownSystem ??= unknown;
}

/** A code its code system does not have: only a warning when the system is not complete (a fragment or example). */
function unknownCode(
  input: ValidateInput,
  cs: CodeSystemIndex,
  coding: Coding,
  res: CodingResult,
  at: (e?: string) => string,
): void {
  const vs = input.valueSet;
  // a fragment holds only some of the system's codes: the code may exist, so neither it nor its
  // membership of the value set can be denied (R4 CodeSystem.content `fragment`)
  const fragment = cs.resource.content === 'fragment';
  if (vs && !fragment) res.issues.push(notInValueSetIssue(vs.resource, coding, at));
  const severity = fragment || cs.resource.content === 'example' ? 'warning' : 'error';
  const unknown = `code '${coding.code ?? ''}' in the CodeSystem '${cs.url}' version '${cs.version ?? ''}'`;
  const text = fragment
    ? `Unknown Code ${unknown.slice(5)} - note that the code system is labeled as a fragment, so the code may be valid in some other fragment`
    : `Unknown ${unknown}`;
  if (input.membershipOnly && vs) return; // only membership is asked: not in the value set says it
  const id = fragment ? 'UNKNOWN_CODE_IN_FRAGMENT' : 'Unknown_Code_in_Version';
  const issue = txIssue(severity, 'code-invalid', 'invalid-code', text, at('code'), id);
  // nothing is known to be wrong with a code a fragment lacks: noted, not repeated in the message
  res.issues.push(fragment ? quiet(issue) : issue);
  res.ok = severity !== 'error';
}

/** A known code: whether it is active, in the value set, and shown with a valid display. */
function checkConcept(
  input: ValidateInput,
  cs: CodeSystemIndex,
  concept: Concept,
  coding: Coding,
  res: CodingResult,
  at: (e?: string) => string,
): void {
  const vs = input.valueSet;
  res.known = true;
  res.concept = concept;
  res.member = !vs || entriesWithCode(vs.expanded, concept.code).some((e) => e.system === cs.url);
  // R4 $validate-code `abstract` = false: an abstract code is not valid here, so not a member either
  if (input.abstractAllowed === false && concept.notSelectable) {
    const text = `Code '${cs.url}#${concept.code}' is abstract, and not allowed in this context`;
    res.issues.push(txIssue('error', 'business-rule', 'code-rule', text, at('code'), 'ABSTRACT_CODE_NOT_ALLOWED'));
    res.member = false;
  }
  if (concept.inactive) {
    res.issues.push(
      txIssue(
        'warning',
        'business-rule',
        'code-comment',
        `The concept '${concept.code}' has a status of ${statusText(concept)} and its use should be reviewed`,
        at(),
        'INACTIVE_CONCEPT_FOUND',
      ),
    );
  }
  res.issues.push(...conceptNotes(cs, concept, coding, at));
  if (vs && !res.member) res.issues.push(...notMemberIssues(input, vs.resource, concept, coding, at));
  if (vs && res.member && deprecatedInValueSet(vs.expanded, cs, concept)) {
    const text = `The presence of the concept '${concept.code}' in the system '${cs.url}' in the value set ${vsName(vs.resource)} is marked with a status of deprecated and its use should be reviewed`;
    const id = 'CONCEPT_DEPRECATED_IN_VALUESET';
    res.issues.push(quiet(txIssue('warning', 'business-rule', 'code-comment', text, at('code'), id)));
  }
  if (coding.display !== undefined && !input.membershipOnly)
    res.issues.push(...checkDisplay(cs, concept, coding.display, input, at));
  res.ok = !res.issues.some((i) => i.severity === 'error');
}

/**
 * Notes on a valid code that are not errors: a status that discourages its use (deprecated,
 * withdrawn) while the code stays active, and a code matched only without regard to case.
 */
function conceptNotes(
  cs: CodeSystemIndex,
  concept: Concept,
  coding: Coding,
  at: (e?: string) => string,
): OperationOutcomeIssue[] {
  const notes: OperationOutcomeIssue[] = [];
  const status = concept.status;
  if (!concept.inactive && status && DISCOURAGING.has(status.toLowerCase())) {
    const text = `The concept '${concept.code}' is ${status} and its use should be reviewed`;
    notes.push(txIssue('warning', 'business-rule', 'code-comment', text, at(), 'DEPRECATED_CONCEPT_FOUND'));
  }
  if (coding.code !== undefined && coding.code !== concept.code) {
    const text = `The code '${coding.code}' differs from the correct code '${concept.code}' by case. Although the code system '${cs.url}${cs.version ? `|${cs.version}` : ''}' is case insensitive, implementers are strongly encouraged to use the correct case anyway`;
    notes.push(quiet(txIssue('information', 'business-rule', 'code-rule', text, at('code'), 'CODE_CASE_DIFFERENCE')));
  }
  return notes;
}

const VALUESET_DEPRECATED = 'http://hl7.org/fhir/StructureDefinition/valueset-deprecated';

/**
 * Whether the value set marks its use of the code as deprecated: the valueset-deprecated extension or
 * a standards-status of deprecated on the code in the include.
 */
function deprecatedInValueSet(expanded: Expanded, cs: CodeSystemIndex, concept: Concept): boolean {
  const entry = entriesWithCode(expanded, concept.code).find((e) => e.system === cs.url);
  return (entry?.extensions ?? []).some(
    (e) =>
      (e.url === VALUESET_DEPRECATED && (e.valueBoolean === true || e.valueCode === 'true')) ||
      (e.url === STANDARDS_STATUS && e.valueCode === 'deprecated'),
  );
}

/** A status that makes a concept inactive is named with that consequence ("retired and inactive"). */
function statusText(concept: Concept): string {
  if (!concept.status || concept.status === 'inactive') return 'inactive';
  return concept.inactive ? `${concept.status} and inactive` : concept.status;
}

/** A known code outside the value set; when inactive codes are left out, say that is why. */
function notMemberIssues(
  input: ValidateInput,
  vs: ValueSet,
  concept: Concept,
  coding: Coding,
  at: (e?: string) => string,
): OperationOutcomeIssue[] {
  const issues: OperationOutcomeIssue[] = [];
  const excludedAsInactive = concept.inactive && (input.settings.activeOnly || vs.compose?.inactive === false);
  if (excludedAsInactive)
    issues.push(
      txIssue(
        'error',
        'business-rule',
        'code-rule',
        `The concept '${concept.code}' is valid but is not active`,
        at('code'),
        'STATUS_CODE_WARNING_CODE',
      ),
    );
  issues.push(notInValueSetIssue(vs, coding, at));
  return issues;
}

/** A text a concept may be shown with: its display or a designation, in a language (or any, when none). */
interface DisplayText {
  value: string;
  language?: string;
  /** Worth naming among the valid choices: the display, or a designation in a stated language. */
  listed: boolean;
}

function displayTexts(cs: CodeSystemIndex, concept: Concept): DisplayText[] {
  const own = cs.resource.language;
  const texts: DisplayText[] =
    concept.display !== undefined ? [{ value: concept.display, language: own, listed: true }] : [];
  for (const d of concept.designations)
    if (d.value !== undefined) texts.push({ value: d.value, language: d.language ?? own, listed: !!d.language });
  return texts;
}

/**
 * A display is valid when it is the concept's display or a designation in a requested language
 * (any language when none is asked for; a text in no stated language serves every language). When
 * the concept has no text at all in the requested languages, its default display is accepted, with
 * a note saying so.
 */
function checkDisplay(
  cs: CodeSystemIndex,
  concept: Concept,
  display: string,
  input: ValidateInput,
  at: (e?: string) => string,
): OperationOutcomeIssue[] {
  const norm = (s: string) => s.trim().replace(/\s+/g, ' ').toLowerCase();
  const all = displayTexts(cs, concept);
  const langs = input.languages;
  const inLanguages = langs.length
    ? all.filter((d) => d.language === undefined || langs.some((l) => languageMatches(d.language, l)))
    : all;
  const given = `${cs.url}#${concept.code}`;
  if (inLanguages.some((d) => norm(d.value) === norm(display))) return [];
  if (langs.length && !inLanguages.length && all.some((d) => norm(d.value) === norm(display))) {
    return [
      txIssue(
        'information',
        'invalid',
        'invalid-display',
        `There are no valid display names found for the code ${given} for language(s) '${langs.join(', ')}'. The display is '${display}' which is a valid display for the default language`,
        at('display'),
        'NO_VALID_DISPLAY_FOUND_NONE_FOR_LANG_OK',
      ),
    ];
  }
  const text = `Wrong Display Name '${display}' for ${given}. ${validChoices(concept, langs, inLanguages)}`;
  const severity = input.lenientDisplay ? 'warning' : 'error';
  // no text in the asked languages is another message than a wrong choice among them
  const id =
    langs.length && !inLanguages.length
      ? 'NO_VALID_DISPLAY_FOUND_NONE_FOR_LANG_ERR'
      : 'Display_Name_for__should_be_one_of__instead_of';
  return [txIssue(severity, 'invalid', 'invalid-display', text, at('display'), id)];
}

/** What a wrong display should have been: the valid texts in the requested languages, with their languages. */
function validChoices(concept: Concept, langs: string[], inLanguages: DisplayText[]): string {
  if (langs.length && !inLanguages.length)
    return `There are no valid display names found for language(s) '${langs.join(', ')}'. Default display is '${concept.display ?? ''}'`;
  const named = [
    ...new Set(inLanguages.filter((d) => d.listed).map((d) => `'${d.value}'${d.language ? ` (${d.language})` : ''}`)),
  ];
  const choice = named.length === 1 ? `is ${named[0]}` : `is one of ${named.length} choices: ${named.join(' or ')}`;
  return `Valid display ${choice} (for the language(s) '${langs.length ? langs.join(', ') : '--'}')`;
}
