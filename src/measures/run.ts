import type { MeasureReport, Reference } from '@medplum/fhirtypes';
import { FhirError } from '../fhir/errors.js';
import type { Services } from '../fhir/services.js';
import type { SqlExecutor } from '../storage/types.js';
import { readMeasure } from './definition.js';
import { evaluateMeasure } from './evaluate.js';
import { REPORT_TYPES, type EvaluateInput } from './input.js';
import { buildReport, type ReportHead } from './report.js';
import { resolveMeasure } from './resolve.js';

async function mustExist(svc: Services, db: SqlExecutor, type: string, id: string, expression: string): Promise<void> {
  const row = await svc.store.current(type, id, db);
  if (!row || row.deleted) throw new FhirError('not-found', { message: `${type}/${id} is not known`, expression });
}

/** Who the report is about and who reports it: a patient is its subject, a unit its reporter. */
function headOf(svc: Services, input: EvaluateInput, evaluated: Reference[]): ReportHead {
  const { subject, practitioner } = input;
  const about: ReportHead['subject'] =
    subject?.type === 'Patient'
      ? { reference: `Patient/${subject.id}` }
      : practitioner
        ? { reference: `Practitioner/${practitioner}` }
        : undefined;
  return {
    type: REPORT_TYPES[input.reportType],
    period: input.period,
    date: svc.clock.now().toISOString(),
    ...(about ? { subject: about } : {}),
    ...(subject?.type === 'Organization'
      ? { reporter: { reference: `Organization/${subject.id}` } as ReportHead['reporter'] }
      : {}),
    ...(input.reportType === 'subject' ? { evaluatedResource: evaluated } : {}),
  };
}

/**
 * One evaluation, over one snapshot of the data (R4 §15.12 Measure, $evaluate-measure): the Measure
 * (the instance `measureId`, or the `measure` parameter), the subject and practitioner checked to
 * exist (404 at the parameter), the pathways in scope evaluated, the MeasureReport made. The same
 * data give the same groups.
 */
export function runEvaluation(
  svc: Services,
  measureId: string | undefined,
  input: EvaluateInput,
): Promise<MeasureReport> {
  return svc.store.storage.snapshot(async (db) => {
    const def = readMeasure(await resolveMeasure(svc, db, measureId, input.measure));
    if (input.subject) await mustExist(svc, db, input.subject.type, input.subject.id, 'subject');
    if (input.practitioner) await mustExist(svc, db, 'Practitioner', input.practitioner, 'practitioner');
    const { tallies, evaluated } = await evaluateMeasure(svc, db, def, {
      period: input.period,
      patient: input.subject?.type === 'Patient' ? input.subject.id : undefined,
      unit: input.subject?.type === 'Organization' ? input.subject.id : undefined,
      practitioner: input.practitioner,
      listed: input.reportType === 'subject-list',
      evaluatedSince: input.lastReceivedOn,
    });
    return buildReport(def, tallies, headOf(svc, input, evaluated));
  });
}
