/**
 * Pathway time in Norway: calendar days and working days (virkedager) counted on the local calendar
 * of Europe/Oslo, whatever the server's time zone, so a deadline does not move by an hour at a DST
 * change or by a day for an instant recorded at 00:30 local time.
 *
 * Dates are ISO `YYYY-MM-DD` strings of the Oslo calendar. Public holidays (domain notes §5.5): 1
 * January, Maundy Thursday, Good Friday, Easter Sunday and Monday, 1 and 17 May, Ascension Day,
 * Whit Sunday and Monday, 25 and 26 December; the Easter-based ones computed for any year.
 */
export const ZONE = 'Europe/Oslo';

const DAY_MS = 86_400_000;
const osloParts = new Intl.DateTimeFormat('en-CA', {
  timeZone: ZONE,
  year: 'numeric',
  month: '2-digit',
  day: '2-digit',
});
const osloOffset = new Intl.DateTimeFormat('en-US', { timeZone: ZONE, timeZoneName: 'longOffset' });

/** The Oslo calendar date of an instant. */
export function osloDate(instant: Date): string {
  return osloParts.format(instant); // en-CA formats as YYYY-MM-DD
}

/** A date as a UTC midnight timestamp: day arithmetic without any time zone in it. */
function toDay(date: string): number {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(date);
  if (!m) throw new RangeError(`Not a date: '${date}' (YYYY-MM-DD expected)`);
  return Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
}
const fromDay = (t: number) => new Date(t).toISOString().slice(0, 10);

export function addCalendarDays(date: string, days: number): string {
  return fromDay(toDay(date) + days * DAY_MS);
}

/** Days from `from` to `to` (negative when `to` is earlier). */
export function calendarDaysBetween(from: string, to: string): number {
  return Math.round((toDay(to) - toDay(from)) / DAY_MS);
}

/** Easter Sunday of a Gregorian year (the anonymous Gregorian algorithm, "Meeus/Jones/Butcher"). */
export function easterSunday(year: number): string {
  const a = year % 19;
  const b = Math.floor(year / 100);
  const c = year % 100;
  const d = Math.floor(b / 4);
  const e = b % 4;
  const f = Math.floor((b + 8) / 25);
  const g = Math.floor((b - f + 1) / 3);
  const h = (19 * a + b - d - g + 15) % 30;
  const i = Math.floor(c / 4);
  const k = c % 4;
  const l = (32 + 2 * e + 2 * i - h - k) % 7;
  const m = Math.floor((a + 11 * h + 22 * l) / 451);
  const month = Math.floor((h + l - 7 * m + 114) / 31);
  const day = ((h + l - 7 * m + 114) % 31) + 1;
  return fromDay(Date.UTC(year, month - 1, day));
}

const holidayCache = new Map<number, Set<string>>();

/** The Norwegian public holidays of a year. */
export function publicHolidays(year: number): Set<string> {
  let set = holidayCache.get(year);
  if (!set) {
    const easter = easterSunday(year);
    const fixed = ['01-01', '05-01', '05-17', '12-25', '12-26'].map((md) => `${year}-${md}`);
    const moving = [-3, -2, 0, 1, 39, 49, 50].map((offset) => addCalendarDays(easter, offset));
    set = new Set([...fixed, ...moving]);
    holidayCache.set(year, set);
  }
  return set;
}

/** Monday to Friday and not a public holiday. */
export function isWorkingDay(date: string): boolean {
  const weekday = new Date(toDay(date)).getUTCDay();
  return weekday !== 0 && weekday !== 6 && !publicHolidays(Number(date.slice(0, 4))).has(date);
}

/** The date `days` working days after `date` (`date` itself does not count); negative counts back. */
export function addWorkingDays(date: string, days: number): string {
  const step = days < 0 ? -1 : 1;
  let d = date;
  for (let left = Math.abs(days); left > 0;) {
    d = addCalendarDays(d, step);
    if (isWorkingDay(d)) left--;
  }
  return d;
}

/** Working days after `from` up to and including `to` (negative when `to` is earlier). */
export function workingDaysBetween(from: string, to: string): number {
  if (to < from) return -workingDaysBetween(to, from);
  let n = 0;
  for (let d = addCalendarDays(from, 1); d <= to; d = addCalendarDays(d, 1)) if (isWorkingDay(d)) n++;
  return n;
}

/** The last instant of an Oslo calendar day (a deadline "by the end of" that day), DST included. */
export function endOfOsloDay(date: string): Date {
  const next = toDay(addCalendarDays(date, 1));
  // the offset in force at the next local midnight: try the two Oslo offsets, keep the one that is that midnight
  for (const hours of [1, 2]) {
    const candidate = new Date(next - hours * 3_600_000);
    if (osloDate(candidate) === addCalendarDays(date, 1) && osloDate(new Date(candidate.getTime() - 1)) === date)
      return new Date(candidate.getTime() - 1);
  }
  throw new RangeError(`No end of day for ${date} in ${ZONE}`);
}

/** The UTC offset in force in Oslo at an instant, e.g. `+01:00` or `+02:00`. */
export function osloOffsetAt(instant: Date): string {
  const name = osloOffset.formatToParts(instant).find((p) => p.type === 'timeZoneName')?.value ?? 'GMT+01:00';
  return name === 'GMT' ? '+00:00' : name.slice(3);
}
