import type { Bundle, OperationOutcomeIssue } from '@medplum/fhirtypes';
import { FhirError } from '../fhir/errors.js';
import type { Services } from '../fhir/services.js';
import { ValidationWorker } from '../validation/parallel.js';
import { NPR_REPORT } from './pages.js';

/** Pages waiting for the worker at most: the build runs ahead by this much, so memory stays bounded. */
const AHEAD = 2;

function refuseInvalid(issues: OperationOutcomeIssue[]): void {
  const errors = issues.filter((i) => i.severity === 'error' || i.severity === 'fatal');
  if (errors.length) {
    throw new FhirError(
      'unprocessable',
      errors
        .slice(0, 20)
        .map((i) => ({ message: `The report does not meet its profile: ${i.diagnostics}`, expression: i.expression })),
    );
  }
}

/**
 * Validates a report's pages against the report profile before any of them is stored. A report of
 * one page is validated here; once a report has a second page, its pages go to a validation worker
 * thread, so validating one page overlaps building the next (a page is spooled before its answer:
 * any refusal fails `done()`, and the run with it, before its one transaction, so nothing of the
 * report is kept). At most AHEAD pages wait for their answer.
 */
export class PageValidation {
  private worker?: ValidationWorker;
  private inFlight: Promise<void>[] = [];
  private error?: unknown;

  constructor(private readonly svc: Services) {}

  /** The report has more than one page: validate in a worker from now on. */
  parallel(): void {
    this.worker ??= new ValidationWorker(this.svc.store.storage, this.svc.baseUrl);
  }

  /** `json`: the page as JSON (the worker is sent text, which the caller has made already). */
  async check(page: Bundle, json: string): Promise<void> {
    if (!this.worker) {
      refuseInvalid(await this.svc.validator.validate(page, { profiles: [NPR_REPORT] }));
      return;
    }
    const answer = this.worker.validate(json, [NPR_REPORT]).then(refuseInvalid);
    // kept as a settled promise, so a refusal waits for done() without being an unhandled rejection
    this.inFlight.push(answer.catch((err: unknown) => void (this.error ??= err)));
    while (this.inFlight.length > AHEAD) await this.inFlight.shift();
    if (this.error) throw this.error;
  }

  /** Every page's answer; throws the first refusal. */
  async done(): Promise<void> {
    await Promise.all(this.inFlight);
    this.inFlight = [];
    if (this.error) throw this.error;
  }

  async close(): Promise<void> {
    await this.worker?.close();
  }
}
