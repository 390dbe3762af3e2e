/**
 * FHIR date, dateTime and instant values as closed ranges of epoch milliseconds, by their precision
 * (R4 §3.1.1.4.5: "2013-01-14" means the whole day). Values without a zone are taken as UTC.
 */
export const MIN_TIME = -8_640_000_000_000_000;
export const MAX_TIME = 8_640_000_000_000_000;

const PATTERN =
  /^(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}:\d{2})?)?)?)?$/;

export interface DateRange {
  low: number;
  high: number;
}

/** The range a FHIR date/dateTime/instant string covers, or undefined when it is not one. */
export function dateRange(value: string): DateRange | undefined {
  const m = PATTERN.exec(value);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s, frac, zone] = m;
  const year = Number(y);
  const month = mo ? Number(mo) : undefined;
  const day = d ? Number(d) : undefined;
  if (month !== undefined && (month < 1 || month > 12)) return undefined;
  if (day !== undefined && (day < 1 || day > daysIn(year, month!))) return undefined;
  if (h !== undefined && (Number(h) > 23 || Number(mi) > 59 || (s !== undefined && Number(s) > 59))) return undefined;
  const offset =
    zone && zone !== 'Z' ? (zone[0] === '-' ? -1 : 1) * (Number(zone.slice(1, 3)) * 60 + Number(zone.slice(4, 6))) : 0;
  const base = (mon: number, dd: number, hh = 0, mm = 0, ss = 0, ms = 0) =>
    Date.UTC(year, mon - 1, dd, hh, mm, ss, ms) - offset * 60_000;
  // Date.UTC maps years 0..99 to 1900..1999; fix it for those rare years
  const fix = (t: number) => (year < 100 ? new Date(t).setUTCFullYear(year) : t);
  if (month === undefined) return { low: fix(base(1, 1)), high: fix(base(1, 1)) + yearMs(year) - 1 };
  if (day === undefined)
    return { low: fix(base(month, 1)), high: fix(base(month, 1)) + daysIn(year, month) * 86_400_000 - 1 };
  if (h === undefined) return { low: fix(base(month, day)), high: fix(base(month, day)) + 86_400_000 - 1 };
  if (s === undefined) {
    const low = fix(base(month, day, Number(h), Number(mi)));
    return { low, high: low + 60_000 - 1 };
  }
  if (frac === undefined) {
    const low = fix(base(month, day, Number(h), Number(mi), Number(s)));
    return { low, high: low + 999 };
  }
  const ms = Number(frac.slice(0, 3).padEnd(3, '0'));
  const low = fix(base(month, day, Number(h), Number(mi), Number(s), ms));
  const width = frac.length >= 3 ? 1 : 10 ** (3 - frac.length);
  return { low, high: low + width - 1 };
}

function daysIn(year: number, month: number): number {
  // day 0 of the next month is the last day of this one; 2000 is a leap year, 2001 is not
  return new Date(Date.UTC(isLeap(year) ? 2000 : 2001, month, 0)).getUTCDate();
}
function isLeap(y: number): boolean {
  return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
}
function yearMs(y: number): number {
  return (isLeap(y) ? 366 : 365) * 86_400_000;
}
