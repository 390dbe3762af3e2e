import { FhirError } from '../fhir/errors.js';
import { addCalendarDays, osloDate } from '../pathways/calendar.js';

/**
 * A reporting period (domain notes §4): a month (`2026-10`), a tertial — cumulative from 1 January,
 * as NPR counts them: T1 to 30 April, T2 to 31 August, T3 the whole year (`2026-T2`) — or a year
 * (`2026`). Dates are Oslo calendar dates; `end` is exclusive.
 */
export interface ReportPeriod {
  label: string;
  start: string;
  end: string;
}

const pad = (n: number) => String(n).padStart(2, '0');

export function parsePeriod(label: string): ReportPeriod {
  let m = /^(\d{4})-(\d{2})$/.exec(label);
  if (m && Number(m[2]) >= 1 && Number(m[2]) <= 12) {
    const [y, mo] = [Number(m[1]), Number(m[2])];
    return { label, start: `${y}-${pad(mo)}-01`, end: mo === 12 ? `${y + 1}-01-01` : `${y}-${pad(mo + 1)}-01` };
  }
  m = /^(\d{4})-T([123])$/.exec(label);
  if (m) {
    const y = Number(m[1]);
    return {
      label,
      start: `${y}-01-01`,
      end: { '1': `${y}-05-01`, '2': `${y}-09-01`, '3': `${y + 1}-01-01` }[m[2]] as string,
    };
  }
  m = /^(\d{4})$/.exec(label);
  if (m) return { label, start: `${m[1]}-01-01`, end: `${Number(m[1]) + 1}-01-01` };
  throw new FhirError('invalid', {
    message: `A period is a month (2026-10), a tertial (2026-T1) or a year (2026), not '${label}'`,
    expression: 'period',
  });
}

/** The month before the one `now` falls in, in Oslo: what the monthly job reports. */
export function previousMonth(now: Date): ReportPeriod {
  const firstOfThisMonth = `${osloDate(now).slice(0, 7)}-01`;
  return parsePeriod(addCalendarDays(firstOfThisMonth, -1).slice(0, 7));
}
