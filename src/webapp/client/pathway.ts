import type { DetectedIssue, QuestionnaireResponse, Task } from '@medplum/fhirtypes';
import { h, show } from './dom.js';
import type { Fhir } from './fhir.js';
import { flowChart } from './flow.js';
import { maskFnr, norDate } from './format.js';
import { loadPathway, type Deadline, type PathwayData } from './pathway-data.js';
import { FNR_SYSTEMS, nameOf } from './people.js';
import { recordForm } from './record.js';
import { timeline } from './timeline.js';

const ROLE_TEXT: Record<string, string> = {
  patient: 'Pasient',
  'coordinator-specialist': 'Forløpskoordinator (spesialisthelsetjenesten)',
  'coordinator-municipality': 'Forløpskoordinator (kommunen)',
};

function careTeam(d: PathwayData): HTMLElement {
  const items = (d.team?.participant ?? []).map((p) => {
    const ref = p.member?.reference ?? '';
    const who = d.people.get(ref) ?? (ref === `Patient/${d.patient?.id}` ? d.patient : undefined);
    const role = p.role?.[0]?.coding?.[0];
    const roleText = ROLE_TEXT[role?.code ?? ''] ?? role?.display ?? '';
    return h('li', {}, h('strong', {}, who && 'name' in who ? nameOf(who as never) : ref), ` – ${roleText}`);
  });
  return h(
    'section',
    { class: 'card', 'aria-labelledby': 'team-h' },
    h('h2', { id: 'team-h' }, 'Forløpsteam'),
    items.length ? h('ul', { id: 'team' }, items) : h('p', {}, 'Ingen i teamet.'),
  );
}

/** The patient's own description, as answered (the shipped Questionnaire's items). */
export function description(rs: QuestionnaireResponse[], own = false): HTMLElement {
  const heading = own ? 'Din egen beskrivelse' : 'Pasientens egen beskrivelse';
  const latest = rs[0];
  const body = latest
    ? h(
        'dl',
        { id: 'egen-beskrivelse' },
        (latest.item ?? []).flatMap((i) => [
          h('dt', {}, QUESTION[i.linkId] ?? i.linkId),
          h('dd', {}, (i.answer ?? []).map((a) => a.valueString ?? (a.valueBoolean ? 'Ja' : 'Nei')).join(', ')),
        ]),
      )
    : h(
        'p',
        { id: 'egen-beskrivelse' },
        own ? 'Du har ikke skrevet noen beskrivelse ennå.' : 'Pasienten har ikke gitt sin egen beskrivelse ennå.',
      );
  const when = latest?.authored ? h('p', { class: 'muted' }, `Skrevet ${norDate(latest.authored)}`) : null;
  return h('section', { class: 'card', 'aria-labelledby': 'egen-h' }, h('h2', { id: 'egen-h' }, heading), when, body);
}

export const QUESTION: Record<string, string> = {
  situation: 'Hvordan vil du beskrive situasjonen din nå?',
  'what-matters': 'Hva er viktig for deg?',
  'help-wanted': 'Hva ønsker du hjelp til?',
  'own-part': 'Hva vil du selv bidra med i behandlingen?',
  'next-of-kin-involved': 'Ønsker du at pårørende skal involveres?',
};

function breaches(list: DetectedIssue[]): HTMLElement {
  return h(
    'section',
    { 'aria-labelledby': 'brudd-h' },
    h('h2', { id: 'brudd-h' }, 'Fristbrudd'),
    list.length
      ? h(
          'ul',
          { id: 'brudd' },
          list.map((b) =>
            h(
              'li',
              {},
              b.detail ?? b.code?.text ?? `DetectedIssue/${b.id}`,
              b.identifiedDateTime ? ` (${norDate(b.identifiedDateTime)})` : '',
            ),
          ),
        )
      : h('p', { id: 'brudd' }, 'Ingen fristbrudd.'),
  );
}

const isOpen = (t: Task | undefined) => !!t && !['completed', 'cancelled', 'entered-in-error'].includes(t.status);

/** The pathway page: header, the milestones as `$deadlines` gives them (recordable when open), team, picture. */
export async function pathwayPage(fhir: Fhir, id: string, options: { record: boolean } = { record: true }) {
  const d = await loadPathway(fhir, id);
  const forms = new Map<string, HTMLElement>();
  if (options.record) {
    for (const dl of d.deadlines) {
      const task = d.tasks.get(dl.task);
      if (isOpen(task) && dl.code) {
        const form = await recordForm(fhir, d.plan, task as Task, d.today, () => void pathwayPage(fhir, id));
        // the milestones that are due are recorded most; the others are one click away
        forms.set(dl.task, h('details', { open: !!dl.due }, h('summary', {}, 'Registrer'), form));
      }
    }
  }
  const extra = (dl: Deadline) => (forms.has(dl.task) ? [forms.get(dl.task) as HTMLElement] : []);
  const p = d.patient;
  const fnr = maskFnr(p?.identifier?.find((x) => FNR_SYSTEMS.includes(x.system ?? ''))?.value);
  const title = p ? nameOf(p) : (d.carePlan.subject?.reference ?? '');
  show(
    `${title} – ${d.carePlan.category?.[0]?.coding?.[0]?.code ?? ''}`,
    h('p', {}, h('a', { href: '/app/' }, '← Arbeidslisten')),
    h('h1', {}, `${title} `, h('span', { class: 'muted' }, fnr)),
    h(
      'p',
      { id: 'forlop-tittel' },
      d.carePlan.title ?? '',
      ` · startet ${norDate(d.carePlan.period?.start)}`,
      ` · status ${d.carePlan.status === 'active' ? 'aktivt' : 'avsluttet'} · i dag ${norDate(d.today)}`,
    ),
    h(
      'div',
      { class: 'grid' },
      h('div', {}, h('h2', {}, 'Milepæler'), timeline(d.deadlines, d.tasks, extra), breaches(d.breaches)),
      h('div', {}, careTeam(d), description(d.descriptions), d.plan ? flowChart(d.plan) : null),
    ),
  );
}
