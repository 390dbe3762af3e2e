import { FhirError } from '../fhir/errors.js';
import { addCalendarDays } from '../pathways/calendar.js';

/** A measurement period: Oslo calendar dates, both ends included (R4 Period with date precision). */
export interface MeasurementPeriod {
  start: string;
  end: string;
}

const pad = (n: number) => String(n).padStart(2, '0');

/** The last day of a month (`YYYY-MM`). */
function lastOfMonth(year: number, month: number): string {
  const next = month === 12 ? `${year + 1}-01-01` : `${year}-${pad(month + 1)}-01`;
  return addCalendarDays(next, -1);
}

function isRealDate(date: string): boolean {
  const t = Date.parse(`${date}T00:00:00Z`);
  return !Number.isNaN(t) && new Date(t).toISOString().slice(0, 10) === date;
}

/**
 * One end of the period as given: a date, or a bare year or month meaning its whole span (R4 date
 * precision: `2026` is the year, so periodStart=2026 starts on 1 January and periodEnd=2026 ends on
 * 31 December; `2026-04` as periodEnd ends on 30 April).
 */
export function periodBound(value: unknown, name: 'periodStart' | 'periodEnd'): string {
  const text = typeof value === 'string' ? value.trim() : '';
  const start = name === 'periodStart';
  let m = /^(\d{4})$/.exec(text);
  if (m) return start ? `${m[1]}-01-01` : `${m[1]}-12-31`;
  m = /^(\d{4})-(\d{2})$/.exec(text);
  if (m && Number(m[2]) >= 1 && Number(m[2]) <= 12)
    return start ? `${text}-01` : lastOfMonth(Number(m[1]), Number(m[2]));
  if (/^\d{4}-\d{2}-\d{2}$/.test(text) && isRealDate(text)) return text;
  throw new FhirError('invalid', {
    message: `${name} is a date (YYYY-MM-DD), a month (YYYY-MM) or a year (YYYY), not '${text}'`,
    expression: name,
  });
}

export function measurementPeriod(start: unknown, end: unknown): MeasurementPeriod {
  const period = { start: periodBound(start, 'periodStart'), end: periodBound(end, 'periodEnd') };
  if (period.start > period.end) {
    throw new FhirError('invalid', {
      message: `periodStart ${period.start} is after periodEnd ${period.end}`,
      expression: 'periodStart',
    });
  }
  return period;
}
