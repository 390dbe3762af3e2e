import type { CarePlan, Measure, MeasureReport, Organization, Patient } from '@medplum/fhirtypes';
import { trendChart } from './chart.js';
import { announce, h, show } from './dom.js';
import { byReference, type Fhir } from './fhir.js';
import { pointOf, targetOf, type Point } from './indicator-data.js';
import { lastMonths, periodName, tertialsOf } from './periods.js';
import { nameOf } from './people.js';

const PATHWAYS = ['D01', 'D06', 'D07', 'D08', 'D09', 'D10', 'D11', 'D12'];

function select(id: string, label: string, options: [string, string][], value: string) {
  const el = h(
    'select',
    { id },
    options.map(([v, t]) => h('option', { value: v, selected: v === value }, t)),
  );
  return { el, box: h('div', {}, h('label', { for: id }, label), el) };
}

/** The pathways behind one point: the denominator's, each marked met or not, linking to its page. */
async function pathwaysOf(fhir: Fhir, p: Point): Promise<HTMLElement> {
  const found = p.pathways.length
    ? await fhir.searchAll(`CarePlan?_id=${p.pathways.join(',')}&_include=CarePlan:subject&_count=1000`)
    : [];
  const refs = byReference(found);
  const rows = p.pathways.map((id) => {
    const plan = refs.get(`CarePlan/${id}`) as CarePlan | undefined;
    const patient = refs.get(plan?.subject?.reference ?? '') as Patient | undefined;
    return h(
      'li',
      { 'data-careplan': id },
      h('a', { href: `/app/forlop/${encodeURIComponent(id)}` }, patient ? nameOf(patient) : id),
      ` – ${plan?.category?.[0]?.coding?.[0]?.code ?? ''} – `,
      p.met.has(id) ? 'innenfor' : 'utenfor',
    );
  });
  return h(
    'section',
    { id: 'punkt-liste', 'aria-labelledby': 'punkt-h', tabindex: -1 },
    h('h2', { id: 'punkt-h' }, `Forløpene i ${periodName(p.period)}: ${p.numerator} av ${p.denominator}`),
    rows.length ? h('ul', {}, rows) : h('p', {}, 'Ingen forløp.'),
  );
}

function table(points: Point[]): HTMLElement {
  return h(
    'div',
    { class: 'table-wrap' },
    h(
      'table',
      { id: 'trend-tabell' },
      h('caption', {}, 'Tallene bak grafen'),
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          ['Periode', 'Innenfor', 'Alle', 'Andel'].map((t, i) =>
            h('th', { scope: 'col', class: i ? 'num' : undefined }, t),
          ),
        ),
      ),
      h(
        'tbody',
        {},
        points.map((p) =>
          h(
            'tr',
            { 'data-period': p.period },
            h('td', {}, periodName(p.period)),
            h('td', { class: 'num' }, p.numerator),
            h('td', { class: 'num' }, p.denominator),
            h('td', { class: 'num' }, p.score === undefined ? '–' : `${Math.round(p.score * 100)} %`),
          ),
        ),
      ),
    ),
  );
}

interface Choices {
  measure: HTMLSelectElement;
  unit: HTMLSelectElement;
  pathway: HTMLSelectElement;
  span: HTMLSelectElement;
}

type Opt = [string, string];

/** The four choices, as the address had them. */
function choices(measures: Measure[], units: Organization[], q: URLSearchParams) {
  const m = select(
    'i-measure',
    'Indikator',
    measures.map((x): Opt => [x.id ?? '', x.title ?? x.name ?? '']),
    q.get('indikator') ?? '',
  );
  const unitOpts = units.map((o): Opt => [`Organization/${o.id}`, o.name ?? '']);
  const u = select('i-unit', 'Enhet', [['', 'Alle enheter'], ...unitOpts], q.get('enhet') ?? '');
  const p = select(
    'i-pathway',
    'Forløp',
    [['', 'Alle forløp'], ...PATHWAYS.map((c): Opt => [c, c])],
    q.get('forlop') ?? '',
  );
  const spans: Opt[] = [
    ['month', '12 måneder'],
    ['tertial', 'Tertial'],
  ];
  const span = select('i-span', 'Vis', spans, q.get('vis') ?? 'month');
  const c: Choices = { measure: m.el, unit: u.el, pathway: p.el, span: span.el };
  return { c, boxes: [m.box, u.box, p.box, span.box] };
}

/** The chart, its figures as a table, and the list a point opens. */
function figure(fhir: Fhir, measure: Measure, report: MeasureReport, points: Point[]): HTMLElement[] {
  const list = h('div', {});
  const open = async (i: number) => {
    list.replaceChildren(await pathwaysOf(fhir, points[i]));
    (list.firstElementChild as HTMLElement).focus();
  };
  const target = targetOf(report) ?? targetOf(measure);
  const caption = target !== undefined ? `Målet er ${Math.round(target * 100)} %.` : 'Indikatoren har ikke noe mål.';
  const chart = trendChart(points, target, (i) => void open(i));
  return [
    h('h2', {}, measure.title ?? ''),
    h('figure', { class: 'card' }, chart, h('figcaption', {}, caption)),
    table(points),
    list,
  ];
}

/** The quality indicators as a 12-month or tertial trend per unit and pathway, with the target line. */
export async function indicatorsPage(fhir: Fhir): Promise<void> {
  const all = await fhir.searchAll<Measure>('Measure?_count=100&status=active,draft');
  const measures = all.filter((m) => m.scoring?.coding?.[0]?.code === 'proportion');
  const units = await fhir.searchAll<Organization>('Organization?_count=500&_elements=name');
  const months = lastMonths(fhir.serverNow ?? new Date(), 12);
  const { c, boxes } = choices(measures, units, new URLSearchParams(location.search));
  const out = h('div', { id: 'indikator' });
  let drawn = 0;
  const draw = async () => {
    const mine = ++drawn; // a slower, older answer must not overwrite a newer choice
    const measure = measures.find((x) => x.id === c.measure.value) as Measure;
    const keep = `indikator=${c.measure.value}&enhet=${c.unit.value}&forlop=${c.pathway.value}&vis=${c.span.value}`;
    history.replaceState(null, '', `/app/indikatorer?${keep}`);
    out.replaceChildren(h('p', { class: 'loading' }, 'Beregner …'));
    const by = c.span.value as 'month' | 'tertial';
    const subject = c.unit.value ? `&subject=${encodeURIComponent(c.unit.value)}` : '';
    const report = await fhir.get<MeasureReport>(
      `Measure/${measure.id}/$evaluate-measure?periodStart=${months[0]}` +
        `&periodEnd=${months[months.length - 1]}&reportType=subject-list${subject}`,
    );
    if (mine !== drawn) return;
    const points = (by === 'month' ? months : tertialsOf(months)).map((x) => pointOf(report, by, x, c.pathway.value));
    out.replaceChildren(...figure(fhir, measure, report, points));
    announce('Indikatoren er beregnet');
  };
  for (const el of Object.values(c)) el.addEventListener('change', () => void draw());
  const form = h(
    'form',
    { class: 'filters', 'aria-label': 'Indikator', onsubmit: (e: Event) => e.preventDefault() },
    boxes,
  );
  show('Indikatorer', h('h1', {}, 'Kvalitetsindikatorer'), form, out);
  if (measures.length) await draw();
}
