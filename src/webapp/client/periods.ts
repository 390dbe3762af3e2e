import { osloDate } from '../../pathways/calendar.js';

const MONTHS = [
  'januar',
  'februar',
  'mars',
  'april',
  'mai',
  'juni',
  'juli',
  'august',
  'september',
  'oktober',
  'november',
  'desember',
];

/** `2026-03` → «mars 2026»; `2026-T1` → «1. tertial 2026». */
export function periodName(p: string): string {
  const t = /^(\d{4})-T([123])$/.exec(p);
  if (t) return `${t[2]}. tertial ${t[1]}`;
  const m = /^(\d{4})-(\d{2})$/.exec(p);
  return m ? `${MONTHS[Number(m[2]) - 1]} ${m[1]}` : p;
}

/** The `count` months up to and including the server's current one, newest last. */
export function lastMonths(now: Date, count: number): string[] {
  const [y, m] = osloDate(now).split('-').map(Number);
  const out: string[] = [];
  for (let i = count - 1; i >= 0; i--) {
    const k = y * 12 + (m - 1) - i;
    out.push(`${Math.floor(k / 12)}-${String((k % 12) + 1).padStart(2, '0')}`);
  }
  return out;
}

/** The tertials (T1 January–April, T2 May–August, T3 September–December) that the months touch. */
export function tertialsOf(months: string[]): string[] {
  return [...new Set(months.map((m) => `${m.slice(0, 4)}-T${Math.floor((Number(m.slice(5, 7)) - 1) / 4) + 1}`))];
}
