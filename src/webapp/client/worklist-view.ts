import { h } from './dom.js';
import { norDate, STANDING_RANK, STANDING_TEXT, type Standing } from './format.js';
import type { Row } from './worklist-data.js';

export const PAGE_SIZE = 50;

export interface Query {
  unit: string;
  pathway: string;
  standing: string;
  mine: boolean;
  sort: keyof typeof SORTS;
  page: number;
}

const byText = (f: (r: Row) => string) => (a: Row, b: Row) => f(a).localeCompare(f(b), 'nb');
const byDue = (a: Row, b: Row) => (a.due ?? '9999').localeCompare(b.due ?? '9999');

/** The columns one may sort by, with their Norwegian names. */
export const SORTS = {
  due: { label: 'Frist', cmp: byDue },
  standing: {
    label: 'Status',
    cmp: (a: Row, b: Row) => STANDING_RANK[a.standing] - STANDING_RANK[b.standing] || byDue(a, b),
  },
  patient: { label: 'Pasient', cmp: byText((r) => r.patientName) },
  pathway: { label: 'Forløp', cmp: byText((r) => r.pathway) },
  coordinator: { label: 'Koordinator', cmp: byText((r) => r.coordinator) },
};

/** The rows the filters keep, sorted. */
export function select(rows: Row[], q: Query, me: string | undefined): Row[] {
  const kept = rows.filter(
    (r) =>
      (!q.unit || r.unit === q.unit) &&
      (!q.pathway || r.pathway === q.pathway) &&
      (!q.standing || r.standing === q.standing) &&
      (!q.mine || (r.mine ?? (!!me && r.members.includes(me)))),
  );
  return kept.sort((a, b) => SORTS[q.sort].cmp(a, b) || a.carePlan.localeCompare(b.carePlan));
}

export function standingBadge(s: Standing | string): HTMLElement {
  return h('span', { class: `standing s-${s}` }, STANDING_TEXT[s] ?? s);
}

function days(n: number | undefined): string {
  return n === undefined ? '–' : String(n);
}

/** One row of the table. */
export function rowElement(r: Row): HTMLTableRowElement {
  return h(
    'tr',
    { 'data-careplan': r.carePlan, 'data-standing': r.standing },
    h('td', {}, h('a', { href: `/app/forlop/${encodeURIComponent(r.carePlan)}` }, r.patientName || r.patient)),
    h('td', { class: 'nowrap' }, r.fnr),
    h('td', {}, h('abbr', { title: r.pathwayTitle }, r.pathway)),
    h('td', {}, r.next || '–'),
    h('td', {}, r.due ? norDate(r.due) : '–'),
    h('td', { class: 'num' }, days(r.daysLeft)),
    h('td', { class: 'num' }, days(r.workingDaysLeft)),
    h('td', {}, standingBadge(r.standing)),
    h('td', {}, r.coordinator || '–'),
  );
}

const csvCell = (v: string | number | undefined) => `"${String(v ?? '').replace(/"/g, '""')}"`;

/** The filtered rows as CSV (semicolon-separated, as Norwegian spreadsheets open it), with a BOM. */
export function toCsv(rows: Row[]): string {
  const head = ['Pasient', 'Fødselsnummer', 'Forløp', 'Neste milepæl', 'Frist', 'Dager igjen', 'Virkedager igjen'];
  const lines = [[...head, 'Status', 'Koordinator', 'Enhet', 'CarePlan'].map(csvCell).join(';')];
  for (const r of rows) {
    const cells = [r.patientName, r.fnr, r.pathway, r.next, norDate(r.due), r.daysLeft, r.workingDaysLeft];
    lines.push([...cells, STANDING_TEXT[r.standing], r.coordinator, r.unitName, r.carePlan].map(csvCell).join(';'));
  }
  return `\uFEFF${lines.join('\r\n')}\r\n`;
}
