import type {
  Bundle,
  OperationOutcome,
  OperationOutcomeIssue,
  Organization,
  Parameters,
  Task,
} from '@medplum/fhirtypes';
import { announce, h, show } from './dom.js';
import { OutcomeError, type Fhir } from './fhir.js';
import { lastMonths, periodName } from './periods.js';
import { issueText } from './record.js';

const NPR = 'urn:oid:2.16.578.1.12.4.1.1.9329';

interface Answer {
  report?: Bundle;
  problems?: OperationOutcome;
  counts: Record<string, number>;
}

function answerOf(p: Parameters): Answer {
  const named = (n: string) => p.parameter?.find((x) => x.name === n);
  const counts: Record<string, number> = {};
  for (const n of ['episodes', 'codes', 'codes-with-problems']) {
    const v = named(n)?.valueInteger;
    if (v !== undefined) counts[n] = v;
  }
  return {
    report: named('report')?.resource as Bundle,
    problems: named('problems')?.resource as OperationOutcome,
    counts,
  };
}

/** The pathway each problem's Task belongs to (`Task.basedOn`), read in one search. */
async function carePlansOf(fhir: Fhir, issues: OperationOutcomeIssue[]): Promise<Map<string, string>> {
  const ids = [...new Set(issues.flatMap((i) => i.expression ?? []).filter((e) => e.startsWith('Task/')))];
  if (!ids.length) return new Map();
  const tasks = await fhir.searchAll<Task>(`Task?_id=${ids.map((t) => t.slice(5)).join(',')}&_elements=basedOn`);
  return new Map(tasks.map((t) => [`Task/${t.id}`, t.basedOn?.[0]?.reference?.replace(/^CarePlan\//, '') ?? '']));
}

function problemRow(i: OperationOutcomeIssue, plans: Map<string, string>): HTMLElement {
  const npr = i.details?.coding?.find((c) => c.system === NPR);
  const task = (i.expression ?? []).find((e) => e.startsWith('Task/'));
  const plan = task ? plans.get(task) : undefined;
  return h(
    'tr',
    { 'data-npr': npr?.code ?? '' },
    h('td', {}, npr ? npr.code : '–'),
    h('td', {}, issueText(i)),
    h('td', {}, plan ? h('a', { href: `/app/forlop/${encodeURIComponent(plan)}` }, 'Rett opp i forløpet') : '–'),
  );
}

async function results(fhir: Fhir, a: Answer): Promise<HTMLElement> {
  const issues = (a.problems?.issue ?? []).filter((i) => i.severity === 'error' || i.severity === 'warning');
  const plans = await carePlansOf(fhir, issues);
  const procedures = (a.report?.entry ?? []).filter((e) => e.resource?.resourceType === 'Procedure').length;
  const paged = (a.report?.link ?? []).some((l) => l.relation === 'next');
  return h(
    'section',
    { id: 'rapport', 'aria-labelledby': 'rapport-h' },
    h('h2', { id: 'rapport-h' }, 'Rapporten'),
    h(
      'p',
      { id: 'rapport-tall' },
      `${procedures} prosedyrekoder ${paged ? 'på første side' : 'i rapporten'} · ${issues.length} problemer`,
    ),
    issues.length
      ? h(
          'div',
          { class: 'table-wrap' },
          h(
            'table',
            { id: 'problemer' },
            h('caption', { class: 'sr-only' }, 'Problemer NPR vil melde'),
            h(
              'thead',
              {},
              h(
                'tr',
                {},
                h('th', { scope: 'col' }, 'NPR-kode'),
                h('th', { scope: 'col' }, 'Problem'),
                h('th', { scope: 'col' }, 'Forløp'),
              ),
            ),
            h(
              'tbody',
              {},
              issues.map((i) => problemRow(i, plans)),
            ),
          ),
        )
      : h('p', { id: 'problemer' }, 'Ingen problemer: NPR vil ta imot alt som er registrert.'),
  );
}

/** The unit and month to report, as the address had them. */
function choices(units: Organization[], months: string[], params: URLSearchParams) {
  const unitSel = h(
    'select',
    { id: 'r-unit' },
    units.map((u) =>
      h(
        'option',
        { value: `Organization/${u.id}`, selected: params.get('enhet') === `Organization/${u.id}` },
        u.name ?? u.id,
      ),
    ),
  );
  const periodSel = h(
    'select',
    { id: 'r-period' },
    [...months].reverse().map((m) => h('option', { value: m, selected: params.get('periode') === m }, periodName(m))),
  );
  return { unitSel, periodSel };
}

/** The month's NPR report of a unit with its problems, each linking to the pathway to correct; run on demand. */
export async function registryPage(fhir: Fhir): Promise<void> {
  const units = await fhir.searchAll<Organization>('Organization?_count=500&_elements=name');
  const months = lastMonths(fhir.serverNow ?? new Date(), 12);
  const params = new URLSearchParams(location.search);
  const { unitSel, periodSel } = choices(units, months, params);
  const out = h('div', { id: 'resultat' });
  const load = async () => {
    history.replaceState(null, '', `/app/register?enhet=${unitSel.value}&periode=${periodSel.value}`);
    const answer = await stored(fhir, unitSel.value, periodSel.value);
    out.replaceChildren(
      answer
        ? await results(fhir, answer)
        : h('p', { id: 'ikke-kjort' }, `Rapporten for ${periodName(periodSel.value)} er ikke laget ennå.`),
    );
  };
  unitSel.addEventListener('change', () => void load());
  periodSel.addEventListener('change', () => void load());
  const run = async () => {
    history.replaceState(null, '', `/app/register?enhet=${unitSel.value}&periode=${periodSel.value}`);
    out.replaceChildren(h('p', { class: 'loading' }, 'Lager rapporten …'));
    try {
      const q = `period=${periodSel.value}&unit=${encodeURIComponent(unitSel.value)}`;
      const answer = answerOf(await fhir.request<Parameters>('POST', `$registry-report?${q}`));
      out.replaceChildren(await results(fhir, answer));
      announce('Rapporten er laget');
    } catch (e) {
      const text = e instanceof OutcomeError ? (e.outcome?.issue ?? []).map(issueText).join(' ') : String(e);
      out.replaceChildren(h('p', { class: 'error', role: 'alert' }, text));
    }
  };
  const form = h(
    'form',
    { class: 'filters', 'aria-label': 'Rapport' },
    h('div', {}, h('label', { for: 'r-unit' }, 'Enhet'), unitSel),
    h('div', {}, h('label', { for: 'r-period' }, 'Måned'), periodSel),
    h('div', {}, h('button', { type: 'submit', id: 'kjor' }, 'Kjør rapporten')),
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    void run();
  });
  show(
    'NPR-rapport',
    h('h1', {}, 'NPR-rapport'),
    h(
      'p',
      {},
      'Månedens rapport til Norsk pasientregister for en enhet, med det NPR vil avvise. ',
      'Å kjøre den på nytt lagrer bare det som er endret.',
    ),
    form,
    out,
  );
  await load();
}

/** The report as last stored (`Bundle/npr-[unit]-[period]` and its problems, docs/registry.md), if there is one. */
async function stored(fhir: Fhir, unit: string, period: string): Promise<Answer | undefined> {
  const id = `npr-${unit.replace(/^Organization\//, '')}-${period}`.slice(0, 64);
  try {
    const [report, problems] = await Promise.all([
      fhir.get<Bundle>(`Bundle/${encodeURIComponent(id)}`),
      fhir.get<OperationOutcome>(`OperationOutcome/${encodeURIComponent(`${id}-problems`.slice(0, 64))}`),
    ]);
    return { report, problems, counts: {} };
  } catch (e) {
    if (e instanceof OutcomeError && e.status === 404) return undefined;
    throw e;
  }
}
