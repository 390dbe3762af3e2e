/**
 * Which HL7 validator cases run offline, and what the Java validator's recorded outcome counts as
 * errors. Every case not run gets a reason, printed by the runner; `exclusions.json` holds the few
 * cases excluded one by one, each with its written reason.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { OperationOutcomeIssue } from '@medplum/fhirtypes';

export interface Step {
  source?: string;
  supporting?: string[];
  packages?: string[];
  java?: string | { outcome?: string | { issue?: OperationOutcomeIssue[] }; errorCount?: number; fatalCount?: number };
}
export interface Case extends Step {
  name: string;
  file: string;
  module?: string;
  version?: string;
  profiles?: string[];
  'use-test'?: boolean;
  'tx-dependent'?: boolean;
  matchetype?: boolean;
  profile?: Step;
  [option: string]: unknown;
}

/**
 * Options with which the Java test harness runs a case and which change what it reports, that our
 * validator does not have (the case's outcome is Java's under that setting, not its default).
 */
const JAVA_OPTIONS: Record<string, (v: unknown) => boolean> = {
  validateContains: (v) => v !== 'CHECK_VALID', // IGNORE: contained resources are not validated
  examples: (v) => v === false, // example.org URLs refused
  noHtmlInMarkdown: (v) => v === true, // HTML in markdown an error rather than a warning
  'no-experimental-content': (v) => v === true,
  'for-publication': (v) => v === true,
};

const ISSUE_SERVER = 'http://hl7.org/fhir/StructureDefinition/operationoutcome-issue-server';
export const isError = (i: OperationOutcomeIssue) => i.severity === 'error' || i.severity === 'fatal';
export const describeIssue = (i: OperationOutcomeIssue) =>
  `${i.expression?.[0] ?? ''}: ${i.details?.text ?? i.diagnostics ?? ''}`.slice(0, 200);

/** Cases excluded one by one: name → the reason, printed by the runner (see docs/validation.md). */
export function readExclusions(): Record<string, string> {
  return JSON.parse(readFileSync(join(import.meta.dirname, 'exclusions.json'), 'utf8')) as Record<string, string>;
}

/** Why a case is not run, or undefined when it is. */
export function skipReason(c: Case, source: string, exclusions: Record<string, string>): string | undefined {
  if (c['use-test'] === false) return 'use-test false';
  if (!c.version?.startsWith('4.0')) return 'not R4';
  if (!c.file.endsWith('.json')) return 'not JSON';
  if (c.packages?.length) return 'needs packages not in ../shared';
  // a `tx` module case not marked tx-dependent runs: its code systems come with it or are FHIR's own
  if (c['tx-dependent'] || c.module === 'tx-advanced') return 'needs a terminology server';
  if (!c.java) return 'no Java outcome';
  if (!existsSync(join(source, c.file))) return 'case file not in the copy';
  if (c.matchetype) return 'matchetype mode (a template comparison, not validation)';
  const support = [...(c.supporting ?? []), ...(c.profiles ?? [])];
  if (support.some((f) => !f.endsWith('.json') || !existsSync(join(source, f))))
    return 'needs XML or missing support files';
  const option = Object.keys(JAVA_OPTIONS).find((k) => c[k] !== undefined && JAVA_OPTIONS[k](c[k]));
  if (option) return `run by Java with ${option}=${JSON.stringify(c[option])}, a setting we do not have`;
  if (exclusions[c.name]) return `excluded: ${exclusions[c.name]}`;
  return undefined;
}

/** Java's recorded issues for a step: an outcome file, an inline outcome, or (older cases) a count. */
function javaIssues(source: string, java: Step['java']): OperationOutcomeIssue[] | undefined {
  if (!java) return undefined;
  if (typeof java === 'object' && typeof java.outcome === 'object') return java.outcome.issue ?? [];
  if (typeof java === 'object' && typeof java.errorCount === 'number') {
    const n = java.errorCount + (java.fatalCount ?? 0);
    return Array.from({ length: n }, () => ({ severity: 'error', code: 'invalid', diagnostics: '(counted)' }));
  }
  const file = typeof java === 'string' ? java : java.outcome;
  if (typeof file !== 'string') return undefined;
  const path = join(source, 'outcomes', file);
  if (!existsSync(path)) return undefined;
  return (JSON.parse(readFileSync(path, 'utf8')) as { issue?: OperationOutcomeIssue[] }).issue ?? [];
}

/**
 * Java's errors to compare with ours, and those it got from a terminology server (tx.fhir.org marks
 * them with the issue-server extension: displays and codes of LOINC, SNOMED CT, CVX …), which an
 * offline run cannot reproduce and so are not compared.
 */
export function javaErrors(
  source: string,
  java: Step['java'],
): { compared: string[]; fromServer: string[] } | undefined {
  const issues = javaIssues(source, java);
  if (!issues) return undefined;
  const errors = issues.filter(isError);
  const remote = (i: OperationOutcomeIssue) => (i.extension ?? []).some((e) => e.url === ISSUE_SERVER);
  return {
    compared: errors.filter((i) => !remote(i)).map(describeIssue),
    fromServer: errors.filter(remote).map(describeIssue),
  };
}
