import type { CarePlan, PlanDefinitionAction, Task } from '@medplum/fhirtypes';
import { FhirError } from '../fhir/errors.js';
import type { Services, WriteEvent } from '../fhir/services.js';
import type { Tx } from '../storage/types.js';
import { inValueSet } from '../terminology/membership.js';
import { TerminologyContext } from '../terminology/source.js';
import { osloDate } from './calendar.js';
import { NPR_FEEDBACK, outcomeValueSet } from './plan.js';
import { dateOf } from './search.js';
import { actionOf, planOf } from './state.js';

/** NPR's answer to the same data (Volven 9329), so a refusal here says what the registry would. */
function npr(code: string, display: string) {
  return { coding: [{ system: NPR_FEEDBACK, code, display }], text: display };
}

/**
 * Before a completed milestone is stored: what NPR needs of it is there and plausible. The date of
 * the clinical event (`executionPeriod.end`) is required (a completion without it reaches no report:
 * NPR 107), not after today in Oslo, not before the pathway started (unless the PlanDefinition lets the
 * event predate it); an event whose combined 9327
 * code has an outcome (C, S, U, H, X: the action names an outcome value set) needs one, from that
 * value set (else NPR 201). Writes the server makes itself (origin `reaction`) are its own.
 */
export async function checkMilestone(svc: Services, tx: Tx, event: WriteEvent): Promise<void> {
  const task = event.after as Task | undefined;
  if (event.origin !== 'request' || task?.resourceType !== 'Task' || task.status !== 'completed') return;
  const where = actionOf(task);
  if (!where) return;
  const date = checkDate(svc, task);
  const plan = await planOf(svc, task.instantiatesCanonical);
  const action = plan?.action?.find((a) => a.id === where.actionId);
  if (action && comesAfterStart(action)) await checkAfterStart(svc, tx, where.carePlanId, date);
  if (action) await checkOutcome(svc, action, task);
}

/**
 * Whether the PlanDefinition orders the action after another (`relatedAction` … `after`), and so
 * after the start: the onset of psychosis symptoms has no such relation and may predate the pathway.
 */
function comesAfterStart(action: PlanDefinitionAction): boolean {
  return (action.relatedAction ?? []).some((r) => r.relationship.startsWith('after'));
}

async function checkAfterStart(svc: Services, tx: Tx, carePlanId: string, date: string): Promise<void> {
  const row = await svc.store.current('CarePlan', carePlanId, tx);
  const carePlan = row?.content && !row.deleted ? (JSON.parse(row.content) as CarePlan) : undefined;
  const start = carePlan?.period?.start?.slice(0, 10);
  if (!start || date >= start) return;
  throw new FhirError('unprocessable', {
    message: `The milestone is dated ${date}, before the pathway started (${start})`,
    code: 'business-rule',
    expression: 'Task.executionPeriod.end',
  });
}

/** The completion's Oslo date: present, and not in the future. */
function checkDate(svc: Services, task: Task): string {
  const date = dateOf(task.executionPeriod?.end);
  if (!date) {
    throw new FhirError('unprocessable', {
      message:
        'A completed milestone needs the date of the clinical event (executionPeriod.end): without it no NPR report can include it',
      code: 'required',
      details: npr('107', 'Prosedyrekoden mangler tidspunkt'),
      expression: 'Task.executionPeriod.end',
    });
  }
  const today = osloDate(svc.clock.now());
  if (date > today) {
    throw new FhirError('unprocessable', {
      message: `The milestone is dated ${date}, after today (${today}, Europe/Oslo): record it when it has happened`,
      code: 'business-rule',
      expression: 'Task.executionPeriod.end',
    });
  }
  return date;
}

/**
 * A milestone's outcome (9323 for C, 9326 for X …) is its coded `Task.output.value`: required when the
 * action names a value set for it, and each one must be in that value set (422 at the output).
 */
async function checkOutcome(svc: Services, action: PlanDefinitionAction, task: Task): Promise<void> {
  const valueSet = outcomeValueSet(action);
  const coded = (task.output ?? []).filter((o) => o.valueCodeableConcept?.coding || o.valueCoding);
  if (valueSet && !coded.length) {
    throw new FhirError('unprocessable', {
      message: `'${action.title}' needs its outcome (a coded Task.output from ${valueSet}): NPR's code for it includes one`,
      code: 'required',
      details: npr('201', 'Ugyldig kode for PK psykisk helse og rus'),
      expression: 'Task.output',
    });
  }
  for (const [i, output] of (task.output ?? []).entries()) {
    const codings = output.valueCodeableConcept?.coding ?? (output.valueCoding ? [output.valueCoding] : undefined);
    if (!codings) continue;
    const element = `Task.output[${i}].${output.valueCoding ? 'valueCoding' : 'valueCodeableConcept'}`;
    const shown = codings.map((c) => `${c.system ?? ''}#${c.code ?? ''}`).join(', ');
    if (!valueSet) {
      const message = `The milestone '${action.title}' has no outcome, but the Task gives ${shown}`;
      throw new FhirError('unprocessable', { message, code: 'business-rule', expression: element });
    }
    const ctx = new TerminologyContext(svc.terminology, await svc.terminology.generation());
    if ((await inValueSet(ctx, valueSet, codings)) === false) {
      const message = `${shown} is not an outcome of '${action.title}' (${valueSet})`;
      throw new FhirError('unprocessable', { message, code: 'code-invalid', expression: element });
    }
  }
}
