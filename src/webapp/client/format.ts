/** Norwegian display: dates dd.mm.åååå (Oslo calendar), masked fødselsnummer, standings in words. */
export function norDate(iso: string | undefined): string {
  if (!iso) return '';
  const [y, m, d] = iso.slice(0, 10).split('-');
  return `${d}.${m}.${y}`;
}

/** A fødselsnummer shown as its birth date and the last digits hidden: `120588 *****`. */
export function maskFnr(value: string | undefined): string {
  if (!value) return '';
  return `${value.slice(0, 6)} *****`;
}

export type Standing = 'on-time' | 'due-soon' | 'overdue' | 'breached';

export const STANDING_TEXT: Record<string, string> = {
  'on-time': 'I rute',
  'due-soon': 'Frist snart',
  overdue: 'Over frist',
  breached: 'Brudd',
  met: 'Utført i tide',
  missed: 'Utført for sent',
  'no-limit': 'Ingen frist',
  cancelled: 'Avlyst',
  postponed: 'Utsatt',
};

/** The order of standings, worst first (sorting by standing). */
export const STANDING_RANK: Record<Standing, number> = { breached: 0, overdue: 1, 'due-soon': 2, 'on-time': 3 };

export function plural(n: number, one: string, many: string): string {
  return `${n} ${Math.abs(n) === 1 ? one : many}`;
}
