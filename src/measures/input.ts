import { FhirError } from '../fhir/errors.js';
import { operationInput } from '../fhir/operations/parameters.js';
import { parsePrefer, type FhirRequest } from '../fhir/request.js';
import { measurementPeriod, type MeasurementPeriod } from './period.js';

/** `reportType` (R4 $evaluate-measure) and the MeasureReport.type each gives. */
export const REPORT_TYPES = { subject: 'individual', 'subject-list': 'subject-list', population: 'summary' } as const;
export type ReportType = keyof typeof REPORT_TYPES;

/** What `$evaluate-measure` was asked. */
export interface EvaluateInput {
  period: MeasurementPeriod;
  /** At type level: the Measure by canonical (`url` or `url|version`) or `Measure/id`. */
  measure?: string;
  reportType: ReportType;
  /** A patient (an individual report) or a reporting unit (the pathways it manages). */
  subject?: { type: 'Patient' | 'Organization'; id: string };
  /** The pathways whose coordinator in specialist care this practitioner is (Practitioner id). */
  practitioner?: string;
  lastReceivedOn?: string;
}

const KNOWN = new Set([
  'periodStart',
  'periodEnd',
  'measure',
  'reportType',
  'subject',
  'practitioner',
  'lastReceivedOn',
]);
const ID = /^[A-Za-z0-9\-.]{1,64}$/;
const DATE_TIME = /^\d{4}(-\d{2}(-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2}))?)?)?$/;

function one(input: Map<string, unknown[]>, name: string): unknown {
  const values = input.get(name) ?? [];
  if (values.length > 1)
    throw new FhirError('invalid', { message: `${name} is given more than once`, expression: name });
  return values[0];
}

function required(input: Map<string, unknown[]>, name: string): unknown {
  const v = one(input, name);
  if (v === undefined)
    throw new FhirError('invalid', { message: `${name} is required`, code: 'required', expression: name });
  return v;
}

/** A reference given as a string or a Reference: its `Type/id`. */
function referenceText(v: unknown): string {
  if (typeof v === 'string') return v.trim();
  const ref = (v as { reference?: unknown } | null)?.reference;
  return typeof ref === 'string' ? ref.trim() : '';
}

function subjectOf(v: unknown): EvaluateInput['subject'] {
  if (v === undefined) return undefined;
  const m = /^(Patient|Organization)\/(.+)$/.exec(referenceText(v));
  if (!m || !ID.test(m[2])) {
    throw new FhirError('invalid', {
      message: 'subject is a patient (Patient/[id]) or a reporting unit (Organization/[id])',
      expression: 'subject',
    });
  }
  return { type: m[1] as 'Patient' | 'Organization', id: m[2] };
}

function practitionerOf(v: unknown): string | undefined {
  if (v === undefined) return undefined;
  const text = referenceText(v);
  const id = text.startsWith('Practitioner/') ? text.slice('Practitioner/'.length) : text;
  if (!ID.test(id))
    throw new FhirError('invalid', { message: 'practitioner is Practitioner/[id]', expression: 'practitioner' });
  return id;
}

/** R4: subject when a subject is given, population otherwise; an individual report is of one patient. */
function reportTypeOf(v: unknown, subject: EvaluateInput['subject']): ReportType {
  const type = v === undefined ? (subject?.type === 'Patient' ? 'subject' : 'population') : String(v);
  if (!(type in REPORT_TYPES)) {
    throw new FhirError('invalid', {
      message: `reportType is subject, subject-list or population, not '${type}'`,
      expression: 'reportType',
    });
  }
  if (type === 'subject' && subject?.type !== 'Patient') {
    throw new FhirError('invalid', {
      message: 'reportType subject (an individual report) needs a patient as subject',
      expression: 'reportType',
    });
  }
  return type as ReportType;
}

/** Unknown parameters are refused (400) unless the client asks for lenient handling (`Prefer: handling`, as search). */
function refuseUnknown(req: FhirRequest, input: Map<string, unknown[]>): void {
  if (parsePrefer(req.headers.prefer).handling === 'lenient') return;
  const unknown = [...input.keys()].filter((k) => !KNOWN.has(k));
  if (!unknown.length) return;
  throw new FhirError('invalid', {
    message:
      `Unknown parameter${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')} ` +
      '(send Prefer: handling=lenient to have them ignored)',
    code: 'not-supported',
    expression: unknown,
  });
}

export function readInput(req: FhirRequest, level: 'type' | 'instance'): EvaluateInput {
  const input = operationInput(req);
  refuseUnknown(req, input);
  const period = measurementPeriod(required(input, 'periodStart'), required(input, 'periodEnd'));
  const measure = one(input, 'measure');
  if (level === 'instance' && measure !== undefined) {
    throw new FhirError('invalid', {
      message: 'measure is given by the URL (Measure/[id]/$evaluate-measure): leave it out',
      expression: 'measure',
    });
  }
  if (level === 'type' && measure === undefined) {
    throw new FhirError('invalid', {
      message: 'measure (a canonical url, or Measure/[id]) is required at type level',
      code: 'required',
      expression: 'measure',
    });
  }
  const subject = subjectOf(one(input, 'subject'));
  const reportType = reportTypeOf(one(input, 'reportType'), subject);
  const lastReceivedOn = one(input, 'lastReceivedOn');
  if (lastReceivedOn !== undefined && (typeof lastReceivedOn !== 'string' || !DATE_TIME.test(lastReceivedOn))) {
    throw new FhirError('invalid', { message: 'lastReceivedOn is a date or dateTime', expression: 'lastReceivedOn' });
  }
  if (lastReceivedOn !== undefined && reportType !== 'subject') {
    throw new FhirError('invalid', {
      message: 'lastReceivedOn applies to an individual report (reportType subject)',
      expression: 'lastReceivedOn',
    });
  }
  return {
    period,
    measure: measure === undefined ? undefined : referenceText(measure),
    reportType,
    subject,
    practitioner: practitionerOf(one(input, 'practitioner')),
    lastReceivedOn: lastReceivedOn as string | undefined,
  };
}
