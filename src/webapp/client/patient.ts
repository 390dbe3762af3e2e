import type { CarePlan, QuestionnaireResponse, QuestionnaireResponseItem } from '@medplum/fhirtypes';
import { announce, h, show } from './dom.js';
import { OutcomeError, type Fhir } from './fhir.js';
import { norDate } from './format.js';
import { loadPathway, OWN_DESCRIPTION, type PathwayData } from './pathway-data.js';
import { description, QUESTION } from './pathway.js';
import { nameOf } from './people.js';
import { issueText } from './record.js';
import { timeline } from './timeline.js';

function coordinatorOf(d: PathwayData): string {
  const c = d.team?.participant?.find((p) =>
    p.role?.some((r) => r.coding?.some((x) => x.code?.startsWith('coordinator'))),
  );
  const who = d.people.get(c?.member?.reference ?? '');
  return who ? nameOf(who as never) : 'ikke oppnevnt ennå';
}

function nextStep(d: PathwayData): HTMLElement {
  const open = d.deadlines.filter((x) => !x.actual && x.due).sort((a, b) => (a.due ?? '').localeCompare(b.due ?? ''));
  const next = open[0];
  return h(
    'section',
    { class: 'card', 'aria-labelledby': 'neste-h' },
    h('h2', { id: 'neste-h' }, 'Hva skjer nå'),
    next
      ? h('p', { id: 'neste' }, `Neste steg: ${next.display}, senest ${norDate(next.due)}.`)
      : h('p', { id: 'neste' }, 'Ingen steg med frist venter nå.'),
    h('p', { id: 'koordinator' }, `Din forløpskoordinator: ${coordinatorOf(d)}.`),
  );
}

function describeForm(fhir: Fhir, patient: string, done: () => void): HTMLElement {
  const fields = Object.entries(QUESTION).filter(([k]) => k !== 'next-of-kin-involved');
  const error = h('p', { class: 'error', id: 'feil-beskrivelse', role: 'alert', hidden: true });
  const form = h(
    'form',
    { id: 'beskriv', 'aria-labelledby': 'beskriv-h' },
    h('h2', { id: 'beskriv-h' }, 'Skriv din egen beskrivelse'),
    fields.map(([id, text]) =>
      h(
        'div',
        { class: 'field' },
        h('label', { for: `q-${id}` }, text),
        h('textarea', { id: `q-${id}`, name: id, rows: 3, cols: 60, required: id === 'situation' }),
      ),
    ),
    h('button', { type: 'submit' }, 'Send'),
    error,
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const item: QuestionnaireResponseItem[] = fields.flatMap(([id]) => {
      const v = (form.querySelector(`#q-${id}`) as HTMLTextAreaElement).value.trim();
      return v ? [{ linkId: id, answer: [{ valueString: v }] }] : [];
    });
    const body: QuestionnaireResponse = {
      resourceType: 'QuestionnaireResponse',
      questionnaire: `${OWN_DESCRIPTION}|0.1.0`,
      status: 'completed',
      subject: { reference: patient },
      author: { reference: patient },
      source: { reference: patient },
      authored: new Date().toISOString(),
      item,
    };
    fhir.request('POST', 'QuestionnaireResponse', body).then(
      () => {
        announce('Takk, beskrivelsen er sendt');
        done();
      },
      (err: unknown) => {
        const issues = err instanceof OutcomeError ? (err.outcome?.issue ?? []) : [];
        error.textContent = issues.map(issueText).join(' ') || String(err);
        error.hidden = false;
      },
    );
  });
  return form;
}

/** The patient's own page: only what their `patient/` token reaches — their pathway, next step, coordinator. */
export async function patientPage(fhir: Fhir, patientId: string): Promise<void> {
  const patient = patientId.startsWith('Patient/') ? patientId : `Patient/${patientId}`;
  const plans = await fhir.searchAll<CarePlan>(`CarePlan?subject=${encodeURIComponent(patient)}&status=active`);
  const plan = plans[0];
  if (!plan) {
    show('Ditt forløp', h('h1', {}, 'Ditt forløp'), h('p', { id: 'ingen' }, 'Du har ikke noe aktivt pakkeforløp.'));
    return;
  }
  const d = await loadPathway(fhir, plan.id as string);
  const again = () => void patientPage(fhir, patientId);
  show(
    'Ditt forløp',
    h('h1', {}, `Ditt forløp: ${plan.title ?? ''}`),
    h('p', {}, `${d.patient ? nameOf(d.patient) : ''} · startet ${norDate(plan.period?.start)}`),
    h(
      'div',
      { class: 'grid' },
      h(
        'div',
        {},
        nextStep(d),
        h('h2', {}, 'Dette har skjedd og skal skje'),
        timeline(
          d.deadlines.filter((x) => x.actual || x.due),
          d.tasks,
          () => [],
        ),
      ),
      h('div', {}, description(d.descriptions, true), describeForm(fhir, patient, again)),
    ),
  );
}
