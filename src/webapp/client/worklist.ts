import { announce, h, show } from './dom.js';
import type { Fhir } from './fhir.js';
import { norDate, plural, STANDING_TEXT } from './format.js';
import { loadWorklist, type Row, type Worklist } from './worklist-data.js';
import { PAGE_SIZE, rowElement, select, SORTS, toCsv, type Query } from './worklist-view.js';

function queryOf(params: URLSearchParams): Query {
  const sort = params.get('sorter') ?? 'due';
  return {
    unit: params.get('enhet') ?? '',
    pathway: params.get('forlop') ?? '',
    standing: params.get('status') ?? '',
    mine: params.get('mine') === '1',
    sort: (sort in SORTS ? sort : 'due') as Query['sort'],
    page: Math.max(1, Number(params.get('side') ?? '1') || 1),
  };
}

function keepInUrl(q: Query): void {
  const p = new URLSearchParams();
  if (q.unit) p.set('enhet', q.unit);
  if (q.pathway) p.set('forlop', q.pathway);
  if (q.standing) p.set('status', q.standing);
  if (q.mine) p.set('mine', '1');
  if (q.sort !== 'due') p.set('sorter', q.sort);
  if (q.page > 1) p.set('side', String(q.page));
  history.replaceState(null, '', `/app/${p.size ? `?${p}` : ''}`);
}

function choice(id: string, label: string, value: string, options: [string, string][], onChange: (v: string) => void) {
  const sel = h(
    'select',
    { id, onchange: (e: Event) => onChange((e.target as HTMLSelectElement).value) },
    options.map(([v, text]) => h('option', { value: v, selected: v === value }, text)),
  );
  return h('div', {}, h('label', { for: id }, label), sel);
}

function filters(w: Worklist, q: Query, canMine: boolean, redraw: () => void): HTMLElement {
  const set = (k: 'unit' | 'pathway' | 'standing') => (v: string) => {
    q[k] = v;
    q.page = 1;
    redraw();
  };
  const units: [string, string][] = [['', 'Alle enheter'], ...[...w.units].sort((a, b) => a[1].localeCompare(b[1]))];
  const codes = [...new Set(w.rows.map((r) => r.pathway))].sort();
  const standings = Object.keys({ 'on-time': 1, 'due-soon': 1, overdue: 1, breached: 1 });
  const sorts = Object.entries(SORTS).map(([k, s]) => [k, s.label] as [string, string]);
  const mine = h('input', {
    type: 'checkbox',
    id: 'f-mine',
    checked: q.mine,
    disabled: !canMine,
    onchange: (e: Event) => {
      q.mine = (e.target as HTMLInputElement).checked;
      q.page = 1;
      redraw();
    },
  });
  return h(
    'form',
    { class: 'filters', 'aria-label': 'Filter', onsubmit: (e: Event) => e.preventDefault() },
    choice('f-unit', 'Enhet', q.unit, units, set('unit')),
    choice(
      'f-pathway',
      'Forløp',
      q.pathway,
      [['', 'Alle forløp'], ...codes.map((c) => [c, c] as [string, string])],
      set('pathway'),
    ),
    choice(
      'f-standing',
      'Status',
      q.standing,
      [['', 'Alle'], ...standings.map((s) => [s, STANDING_TEXT[s]] as [string, string])],
      set('standing'),
    ),
    choice('f-sort', 'Sorter etter', q.sort, sorts, (v) => {
      q.sort = v as Query['sort'];
      redraw();
    }),
    h('div', {}, h('label', { for: 'f-mine' }, 'Mine forløp'), mine),
  );
}

const HEAD = ['Pasient', 'Fødselsnr.', 'Forløp', 'Neste milepæl', 'Frist', 'Dager igjen', 'Virkedager igjen'];

function table(rows: Row[]): HTMLElement {
  const heads = [...HEAD, 'Status', 'Koordinator'].map((t, i) =>
    h('th', { scope: 'col', class: i === 5 || i === 6 ? 'num' : undefined }, t),
  );
  return h(
    'div',
    { class: 'table-wrap' },
    h(
      'table',
      { id: 'arbeidsliste' },
      h('caption', { class: 'sr-only' }, 'Åpne forløp'),
      h('thead', {}, h('tr', {}, heads)),
      h('tbody', {}, rows.map(rowElement)),
    ),
  );
}

function download(rows: Row[], today: string): void {
  const url = URL.createObjectURL(new Blob([toCsv(rows)], { type: 'text/csv;charset=utf-8' }));
  const a = h('a', { href: url, download: `arbeidsliste-${today}.csv` });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

/** The worklist: the open pathways with their next milestone, filtered, sorted, paged, and as CSV. */
export async function worklistPage(fhir: Fhir): Promise<void> {
  const w = await loadWorklist(fhir);
  const q = queryOf(new URLSearchParams(location.search));
  const me = fhir.session.fhirUser;
  const body = h('div', {});
  const redraw = () => {
    const rows = select(w.rows, q, me);
    const pages = Math.max(1, Math.ceil(rows.length / PAGE_SIZE));
    q.page = Math.min(q.page, pages);
    keepInUrl(q);
    const go = (p: number) => () => {
      q.page = p;
      redraw();
    };
    const pager = h(
      'nav',
      { class: 'pager', 'aria-label': 'Sider' },
      h('button', { type: 'button', class: 'secondary', disabled: q.page <= 1, onclick: go(q.page - 1) }, 'Forrige'),
      h('span', { id: 'side' }, `Side ${q.page} av ${pages}`),
      h('button', { type: 'button', class: 'secondary', disabled: q.page >= pages, onclick: go(q.page + 1) }, 'Neste'),
      h('button', { type: 'button', id: 'csv', onclick: () => download(rows, w.today) }, 'Last ned CSV'),
    );
    const count = h(
      'p',
      { id: 'antall' },
      `${plural(rows.length, 'åpent forløp', 'åpne forløp')} · i dag ${norDate(w.today)}`,
    );
    body.replaceChildren(count, table(rows.slice((q.page - 1) * PAGE_SIZE, q.page * PAGE_SIZE)), pager);
    announce(`${rows.length} forløp`);
  };
  // "mine": by HPR number when the token carries one (rows know), else by the fhirUser in the care team
  const canMine = Boolean(me || fhir.session.hprNumber);
  show('Arbeidsliste', h('h1', {}, 'Arbeidsliste'), filters(w, q, canMine, redraw), body);
  redraw();
}
