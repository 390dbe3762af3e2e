import type { OperationOutcome, OperationOutcomeIssue } from '@medplum/fhirtypes';
import { RETRY_AFTER_SECONDS, storageFault } from '../storage/faults.js';

/**
 * The one error type of the server. Its category decides the HTTP status and the
 * OperationOutcome issue code, in one place (`statusOf`), so no handler picks a status by hand.
 */
export type ErrorCategory =
  | 'invalid' // 400: malformed request, bad parameter
  | 'unauthorized' // 401
  | 'forbidden' // 403
  | 'not-found' // 404
  | 'not-allowed' // 405: interaction not supported on this URL
  | 'not-acceptable' // 406: a response format we do not produce
  | 'request-timeout' // 408: the client did not send its whole request in time
  | 'conflict' // 409: version conflict, id clash
  | 'gone' // 410: deleted
  | 'precondition' // 412: If-Match / conditional with several matches
  | 'too-large' // 413
  | 'unsupported-media' // 415
  | 'unprocessable' // 422: a well-formed but invalid resource
  | 'too-many' // 429
  | 'header-too-large' // 431: request headers over the server's limit
  | 'internal' // 500: a bug on our side, never bad input
  | 'transient' // 503: the database cannot answer now (restarting, connection lost, locked); retry
  | 'insufficient-storage'; // 507: the database is full (disk, or its quota)

const STATUS: Record<ErrorCategory, number> = {
  invalid: 400,
  unauthorized: 401,
  forbidden: 403,
  'not-found': 404,
  'not-allowed': 405,
  'not-acceptable': 406,
  'request-timeout': 408,
  conflict: 409,
  gone: 410,
  precondition: 412,
  'too-large': 413,
  'unsupported-media': 415,
  unprocessable: 422,
  'too-many': 429,
  'header-too-large': 431,
  internal: 500,
  transient: 503,
  'insufficient-storage': 507,
};

/** OperationOutcome.issue.code (http://hl7.org/fhir/issue-type) for each category. */
const ISSUE_CODE: Record<ErrorCategory, OperationOutcomeIssue['code']> = {
  invalid: 'invalid',
  unauthorized: 'login',
  forbidden: 'forbidden',
  'not-found': 'not-found',
  'not-allowed': 'not-supported',
  'not-acceptable': 'not-supported',
  'request-timeout': 'timeout',
  conflict: 'conflict',
  gone: 'deleted',
  precondition: 'conflict',
  'too-large': 'too-costly',
  'unsupported-media': 'not-supported',
  unprocessable: 'processing',
  'too-many': 'throttled',
  'header-too-large': 'too-long',
  internal: 'exception',
  transient: 'transient',
  // R4 issue-type: "the persistent store is unavailable"
  'insufficient-storage': 'no-store',
};

export function statusOf(category: ErrorCategory): number {
  return STATUS[category];
}

export interface IssueInput {
  message: string;
  /** FHIRPath of the element in error, e.g. `Patient.birthDate` or `Bundle.entry[3]`. */
  expression?: string | string[];
  severity?: OperationOutcomeIssue['severity'];
  code?: OperationOutcomeIssue['code'];
  /** A coded reason, e.g. an NPR feedback code (Volven 9329). */
  details?: OperationOutcomeIssue['details'];
}

export class FhirError extends Error {
  readonly category: ErrorCategory;
  readonly issues: OperationOutcomeIssue[];
  /** Extra response headers, e.g. WWW-Authenticate for 401. */
  readonly headers: Record<string, string>;

  constructor(
    category: ErrorCategory,
    issues: IssueInput | IssueInput[] | string,
    headers: Record<string, string> = {},
    options?: ErrorOptions,
  ) {
    const list = typeof issues === 'string' ? [{ message: issues }] : Array.isArray(issues) ? issues : [issues];
    super(list.map((i) => i.message).join('; '), options);
    this.category = category;
    this.headers = headers;
    this.issues = list.map((i) => toIssue(category, i));
  }

  /** An error whose issues are already built (e.g. terminology issues with coded details). */
  static withIssues(category: ErrorCategory, issues: OperationOutcomeIssue[]): FhirError {
    const err = new FhirError(
      category,
      issues.map((i) => ({ message: i.details?.text ?? i.diagnostics ?? '' })),
    );
    (err as { issues: OperationOutcomeIssue[] }).issues = issues;
    return err;
  }

  get status(): number {
    return STATUS[this.category];
  }

  toOutcome(): OperationOutcome {
    return { resourceType: 'OperationOutcome', issue: this.issues };
  }

  /** The same error, with every issue's expression placed under a prefix (e.g. a Bundle entry). */
  within(prefix: string): FhirError {
    const moved = this.issues.map((i) => ({
      message: i.diagnostics ?? '',
      severity: i.severity,
      code: i.code,
      details: i.details,
      expression: i.expression?.length ? i.expression.map((e) => inEntry(prefix, e)) : [prefix],
    }));
    const issues = moved.length ? moved : [{ message: this.message, expression: prefix }];
    return new FhirError(this.category, issues, this.headers, { cause: this.cause });
  }

  /** The error (or, for one of ours that wraps it, the thrown value) whose stack tells what went wrong. */
  get origin(): unknown {
    return this.cause ?? this;
  }
}

/** `Patient.name` of an entry's resource is `Bundle.entry[3].resource.name`; anything else is under the entry. */
function inEntry(prefix: string, expression: string): string {
  const m = /^[A-Z][A-Za-z]+(?=\.|$)/.exec(expression);
  return m ? `${prefix}.resource${expression.slice(m[0].length)}` : `${prefix}.${expression}`;
}

function toIssue(category: ErrorCategory, i: IssueInput): OperationOutcomeIssue {
  return {
    severity: i.severity ?? (category === 'internal' ? 'fatal' : 'error'),
    code: i.code ?? ISSUE_CODE[category],
    ...(i.details ? { details: i.details } : {}),
    diagnostics: i.message,
    ...(i.expression ? { expression: Array.isArray(i.expression) ? i.expression : [i.expression] } : {}),
  };
}

export function outcome(
  severity: OperationOutcomeIssue['severity'],
  code: OperationOutcomeIssue['code'],
  message: string,
): OperationOutcome {
  return { resourceType: 'OperationOutcome', issue: [{ severity, code, diagnostics: message }] };
}

/**
 * Any thrown value as a FhirError: ours pass through; a storage fault (storage/faults.ts) is 503 with
 * Retry-After, or 507 for a full database; anything else is an internal error whose detail is not
 * shown. The thrown value is kept as `cause`, for the log.
 */
export function asFhirError(err: unknown): FhirError {
  if (err instanceof FhirError) return err;
  const fault = storageFault(err);
  if (fault === 'transient') {
    const message =
      'The database is not available at the moment (restarting, or its connection was lost): ' +
      'try again after Retry-After';
    return new FhirError('transient', message, { 'Retry-After': String(RETRY_AFTER_SECONDS) }, { cause: err });
  }
  if (fault === 'full') {
    const message = 'The database is full: this request was not carried out; an operator must free space';
    return new FhirError('insufficient-storage', message, {}, { cause: err });
  }
  return new FhirError('internal', 'Internal server error', {}, { cause: err });
}
