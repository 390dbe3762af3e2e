/**
 * String normalisation for search (R4 §3.1.1.4.9: string search is case- and accent-insensitive).
 * NFD strips diacritics (å → a, é → e); letters that Unicode does not decompose are folded by hand,
 * so Norwegian ø and æ match o and ae the way å matches a.
 */
const FOLD: Record<string, string> = { ø: 'o', æ: 'ae', œ: 'oe', ß: 'ss', đ: 'd', ł: 'l', þ: 'th', ð: 'd', ı: 'i' };

export function normalizeString(s: string): string {
  return s
    .toLowerCase()
    .normalize('NFD')
    .replace(/\p{M}/gu, '')
    .replace(/[øæœßđłþðı]/g, (c) => FOLD[c] ?? c);
}
