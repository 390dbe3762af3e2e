import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/fhir/clock.js';
import {
  addCalendarDays,
  addWorkingDays,
  easterSunday,
  endOfOsloDay,
  isWorkingDay,
  osloDate,
  publicHolidays,
  workingDaysBetween,
} from '../../src/pathways/calendar.js';
import { DeadlineRules } from '../../src/pathways/rules.js';

/**
 * The pathway calendar and the FHIRPath deadline functions (the building blocks of the deadline rules;
 * their use through `$apply` and `$deadlines` is tested over HTTP with the pathways).
 */
describe('Norwegian pathway calendar (Europe/Oslo)', () => {
  it.each([
    [2024, '2024-03-31'],
    [2025, '2025-04-20'],
    [2026, '2026-04-05'],
    [2027, '2027-03-28'],
    [2038, '2038-04-25'], // the latest possible date
    [2285, '2285-03-22'], // the earliest possible date
  ])('Easter Sunday %i is %s', (year, date) => {
    expect(easterSunday(year)).toBe(date);
  });

  it('has the twelve public holidays of 2026, the Easter-based ones moving with Easter', () => {
    expect([...publicHolidays(2026)].sort()).toEqual([
      '2026-01-01',
      '2026-04-02',
      '2026-04-03',
      '2026-04-05',
      '2026-04-06',
      '2026-05-01',
      '2026-05-14',
      '2026-05-17',
      '2026-05-24',
      '2026-05-25',
      '2026-12-25',
      '2026-12-26',
    ]);
    expect(publicHolidays(2027).has('2027-03-25')).toBe(true); // Maundy Thursday 2027
  });

  it('counts working days across a weekend, Easter and a year end', () => {
    expect(addWorkingDays('2026-03-06', 1)).toBe('2026-03-09'); // Friday → Monday
    expect(addWorkingDays('2026-03-27', 5)).toBe('2026-04-08'); // over Maundy Thursday, Good Friday, Easter Monday
    expect(addWorkingDays('2026-12-23', 3)).toBe('2026-12-29'); // 24 Dec counts, 25 and 26 Dec do not
    expect(addWorkingDays('2026-12-30', 2)).toBe('2027-01-04'); // 31 Dec, then 1 Jan is a holiday and 2–3 Jan a weekend
    expect(addWorkingDays('2026-04-08', -5)).toBe('2026-03-27');
    expect(workingDaysBetween('2026-03-30', '2026-04-10')).toBe(6);
    expect(workingDaysBetween('2026-04-10', '2026-03-30')).toBe(-6);
    expect(isWorkingDay('2026-05-17')).toBe(false);
    expect(addCalendarDays('2026-02-27', 2)).toBe('2026-03-01');
  });

  it('reads instants on the Oslo calendar and ends days at Oslo midnight, across both DST changes', () => {
    expect(osloDate(new Date('2026-03-28T23:30:00Z'))).toBe('2026-03-29'); // 00:30 CET
    expect(osloDate(new Date('2026-07-01T22:30:00Z'))).toBe('2026-07-02'); // 00:30 CEST
    expect(endOfOsloDay('2026-03-28').toISOString()).toBe('2026-03-28T22:59:59.999Z'); // CET
    expect(endOfOsloDay('2026-03-29').toISOString()).toBe('2026-03-29T21:59:59.999Z'); // the spring-forward day ends in CEST
    expect(endOfOsloDay('2026-10-25').toISOString()).toBe('2026-10-25T22:59:59.999Z'); // the fall-back day ends in CET
  });
});

describe('FHIRPath deadline functions', () => {
  const rules = new DeadlineRules(new ManualClock(new Date('2026-03-31T22:30:00Z')));

  it('%now is the Oslo date of the injected clock, not of the wall clock or UTC', () => {
    expect(rules.evaluate('%now', {})).toEqual(['2026-04-01']);
  });

  it('calendar and working days from a variable or an element of the resource', () => {
    expect(rules.date('%from.addCalendarDays(21)', {}, { from: '2026-03-20' })).toBe('2026-04-10');
    expect(rules.date('%from.addWorkingDays(10)', {}, { from: '2026-03-27' })).toBe('2026-04-15');
    expect(rules.evaluate('%from.workingDaysUntil(%now)', {}, { from: '2026-03-27' })).toEqual([3]);
    expect(rules.evaluate('%from.calendarDaysUntil(%now) > 3', {}, { from: '2026-03-27' })).toEqual([true]);
    // a dateTime counts as its Oslo date: 23:30Z on 28 March is 29 March in Oslo
    expect(
      rules.evaluate('executionPeriod.start.addCalendarDays(7)', {
        resourceType: 'Task',
        executionPeriod: { start: '2026-03-28T23:30:00Z' },
      }),
    ).toEqual(['2026-04-05']);
  });

  it('a rule that does not give one date says so', () => {
    expect(() => rules.date('%from.addCalendarDays(1) | %from', {}, { from: '2026-01-01' })).toThrow(/gave 2 values/);
    expect(() => rules.date('{}', {})).toThrow(/gave 0 values/);
  });
});
