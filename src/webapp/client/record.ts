import type { OperationOutcome, PlanDefinition, Task, ValueSet, ValueSetExpansionContains } from '@medplum/fhirtypes';
import { announce, h } from './dom.js';
import { OutcomeError, type Fhir } from './fhir.js';
import { norDate } from './format.js';

const PATHWAY_ACTION = 'http://forlop.no/fhir/NamingSystem/pathway-action';
const expansions = new Map<string, Promise<ValueSetExpansionContains[]>>();

/** The action a milestone Task stands for (`[CarePlan]/[action]` identifier) in the pathway's PlanDefinition. */
export function actionOf(plan: PlanDefinition | undefined, task: Task) {
  const value = task.identifier?.find((i) => i.system === PATHWAY_ACTION)?.value ?? '';
  const id = value.slice(value.indexOf('/') + 1);
  return plan?.action?.find((a) => a.id === id);
}

function outcomeSet(plan: PlanDefinition | undefined, task: Task): string | undefined {
  const action = actionOf(plan, task);
  return action?.output?.flatMap((o) => o.codeFilter ?? []).find((f) => f.path === 'output.value')?.valueSet;
}

function expand(fhir: Fhir, url: string): Promise<ValueSetExpansionContains[]> {
  if (!expansions.has(url)) {
    const vs = fhir.get<ValueSet>(`ValueSet/$expand?url=${encodeURIComponent(url)}`);
    expansions.set(
      url,
      vs.then((v) => v.expansion?.contains ?? []),
    );
  }
  return expansions.get(url) as Promise<ValueSetExpansionContains[]>;
}

/** An issue's text in Norwegian where the server gives one (the NPR 9329 code and text), else its own words. */
export function issueText(i: NonNullable<OperationOutcome['issue']>[number]): string {
  const npr = i.details?.coding?.find((c) => c.system === 'urn:oid:2.16.578.1.12.4.1.1.9329');
  const norwegian = npr ? `NPR ${npr.code}: ${npr.display ?? i.details?.text ?? ''}` : i.details?.text;
  // the server's own words often repeat the NPR text first: said once
  const own = norwegian ? i.diagnostics?.replace(norwegian, '').replace(/^[\s:–-]+/, '') : i.diagnostics;
  return [norwegian, own].filter(Boolean).join(' – ');
}

/** `dd.mm.åååå` as an ISO date, or undefined when it is not one. */
export function isoDate(text: string): string | undefined {
  const m = /^\s*(\d{1,2})\.(\d{1,2})\.(\d{4})\s*$/.exec(text);
  if (!m) return undefined;
  const iso = `${m[3]}-${m[2].padStart(2, '0')}-${m[1].padStart(2, '0')}`;
  const d = new Date(`${iso}T00:00:00Z`);
  return Number.isNaN(d.getTime()) || d.toISOString().slice(0, 10) !== iso ? undefined : iso;
}

/** Which field of the form an issue's element path belongs to. */
function fieldOf(expression: string | undefined): 'date' | 'outcome' | 'form' {
  if (!expression) return 'form';
  if (expression.includes('executionPeriod')) return 'date';
  if (expression.includes('output')) return 'outcome';
  return 'form';
}

/**
 * The form that records a milestone: its date (the clinical event's, `executionPeriod.end`) and, when the
 * action has one, its outcome from the action's value set. The Task is PUT as it is with `If-Match`; a
 * refusal's issues are shown under the field each names, and the page is redrawn after a success.
 */
export async function recordForm(
  fhir: Fhir,
  plan: PlanDefinition | undefined,
  task: Task,
  today: string,
  done: () => void,
) {
  const key = task.id as string;
  const vsUrl = outcomeSet(plan, task);
  const options = vsUrl ? await expand(fhir, vsUrl) : [];
  const err = (f: string) => h('p', { class: 'error', id: `feil-${f}-${key}`, role: 'alert', hidden: true });
  const errors = { date: err('dato'), outcome: err('utfall'), form: err('skjema') };
  const date = h('input', {
    type: 'text',
    id: `dato-${key}`,
    name: 'dato',
    value: norDate(today),
    required: true,
    inputmode: 'numeric',
    pattern: '\\d{2}\\.\\d{2}\\.\\d{4}',
    autocomplete: 'off',
    size: 10,
    'aria-describedby': `hint-dato-${key} feil-dato-${key}`,
  });
  const hint = h('span', { class: 'muted hint', id: `hint-dato-${key}` }, 'dd.mm.åååå');
  const outcome = vsUrl
    ? h(
        'select',
        { id: `utfall-${key}`, name: 'utfall', 'aria-describedby': `feil-utfall-${key}` },
        h('option', { value: '' }, 'Velg utfall'),
        options.map((c) => h('option', { value: `${c.system}|${c.code}` }, `${c.code} – ${c.display ?? ''}`)),
      )
    : undefined;
  const form = h(
    'form',
    { class: 'record', novalidate: true, 'data-task': task.id, 'aria-label': `Registrer ${task.description ?? ''}` },
    h('div', { class: 'field' }, h('label', { for: `dato-${key}` }, 'Dato'), date, ' ', hint, errors.date),
    outcome
      ? h('div', { class: 'field' }, h('label', { for: `utfall-${key}` }, 'Utfall'), outcome, errors.outcome)
      : null,
    h('div', { class: 'field' }, h('button', { type: 'submit' }, 'Registrer'), errors.form),
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    for (const el of Object.values(errors)) {
      el.hidden = true;
      el.textContent = '';
    }
    const iso = isoDate(date.value);
    if (!iso) {
      errors.date.textContent = 'Skriv datoen som dd.mm.åååå, for eksempel 03.11.2026.';
      errors.date.hidden = false;
      return;
    }
    void submit(fhir, task, iso, outcome?.value ?? '', errors, done);
  });
  return form;
}

async function submit(
  fhir: Fhir,
  task: Task,
  date: string,
  outcome: string,
  errors: Record<'date' | 'outcome' | 'form', HTMLElement>,
  done: () => void,
): Promise<void> {
  const [system, code] = outcome.split('|');
  const body: Task = {
    ...task,
    status: 'completed',
    executionPeriod: { ...(task.executionPeriod ?? {}), start: task.executionPeriod?.start ?? date, end: date },
    ...(outcome
      ? { output: [{ type: { text: 'Utfall' }, valueCodeableConcept: { coding: [{ system, code }] } }] }
      : {}),
  };
  try {
    await fhir.request('PUT', `Task/${task.id}`, body, { 'If-Match': `W/"${task.meta?.versionId ?? ''}"` });
    announce('Milepælen er registrert');
    done();
  } catch (e) {
    const issues = e instanceof OutcomeError ? (e.outcome?.issue ?? []) : [];
    if (!issues.length) issues.push({ severity: 'error', code: 'exception', diagnostics: String(e) });
    for (const i of issues) {
      const el = errors[fieldOf(i.expression?.[0])];
      el.textContent = [el.textContent, issueText(i)].filter(Boolean).join(' ');
      el.hidden = false;
    }
    announce('Milepælen ble ikke registrert');
  }
}
