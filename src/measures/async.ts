import type { MeasureReport, Task } from '@medplum/fhirtypes';
import { asFhirError } from '../fhir/errors.js';
import { create, update } from '../fhir/interactions/write.js';
import type { FhirResponse } from '../fhir/request.js';
import type { Services } from '../fhir/services.js';
import { FORLOP } from './constants.js';
import type { EvaluateInput } from './input.js';
import { readMeasure } from './definition.js';
import { resolveMeasure } from './resolve.js';
import { runEvaluation } from './run.js';

const JOB = `${FORLOP}/CodeSystem/job`;

/** Evaluations still running in this process (a test, or shutdown, may wait for them). */
const running = new Set<Promise<void>>();

/** Resolves when every evaluation started with `Prefer: respond-async` in this process has ended. */
export async function settled(): Promise<void> {
  while (running.size) await Promise.allSettled([...running]);
}

async function writeTask(svc: Services, task: Task): Promise<Task> {
  const result = await svc.store.transaction((tx) =>
    task.id ? update(svc, tx, 'Task', task.id, task) : create(svc, tx, 'Task', task),
  );
  return JSON.parse(result.row?.content as string) as Task;
}

/** The evaluation in the background: the report stored, the job Task completed (or failed, with why). */
async function finish(svc: Services, job: Task, measureId: string | undefined, input: EvaluateInput): Promise<void> {
  const ended = () => ({ ...job.executionPeriod, end: svc.clock.now().toISOString() });
  try {
    const report: MeasureReport = await runEvaluation(svc, measureId, input);
    const stored = await svc.store.transaction((tx) => create(svc, tx, 'MeasureReport', report));
    const output = [{ type: { text: 'report' }, valueReference: { reference: `MeasureReport/${stored.row?.id}` } }];
    await writeTask(svc, { ...job, status: 'completed', executionPeriod: ended(), output });
  } catch (err) {
    const failure = asFhirError(err);
    const why = failure.category === 'internal' ? 'The evaluation failed' : failure.message;
    await writeTask(svc, {
      ...job,
      status: 'failed',
      executionPeriod: ended(),
      statusReason: { text: why.slice(0, 1000) },
    });
  }
}

/**
 * `Prefer: respond-async` (R4's asynchronous request pattern, async.html, as Bulk Data kicks off): the evaluation runs
 * after the answer, 202 Accepted with `Content-Location` naming a job Task to poll. The Task is
 * in-progress until the report is stored, then completed with an output referring to the
 * MeasureReport (or failed, its statusReason saying why). An asynchronous report is always stored:
 * it is fetched later.
 */
export async function startAsync(
  svc: Services,
  measureId: string | undefined,
  input: EvaluateInput,
): Promise<FhirResponse> {
  // what can be refused now is refused now (404, 422), not left to the job
  readMeasure(await resolveMeasure(svc, svc.store.storage, measureId, input.measure));
  const now = svc.clock.now().toISOString();
  const period = `${input.period.start}..${input.period.end}`;
  const job = await writeTask(svc, {
    resourceType: 'Task',
    status: 'in-progress',
    intent: 'order',
    code: { coding: [{ system: JOB, code: 'measure-evaluation', display: 'Measure evaluation' }] },
    description: `$evaluate-measure ${measureId ? `Measure/${measureId}` : input.measure} ${period}`,
    authoredOn: now,
    executionPeriod: { start: now },
  });
  const work = finish(svc, job, measureId, input).finally(() => running.delete(work));
  running.add(work);
  return {
    status: 202,
    headers: { 'Content-Location': `${svc.baseUrl}/Task/${job.id}` },
    resource: {
      resourceType: 'OperationOutcome',
      issue: [
        {
          severity: 'information',
          code: 'informational',
          diagnostics: `Evaluating: poll Task/${job.id} for the report`,
        },
      ],
    },
  };
}
