import { clockTime, dayLabel, sameDay, shortAge } from '../src/model/time-format';

const opts = { locale: 'en-GB', timeZone: 'UTC' };
const now = new Date('2026-11-21T15:30:00Z'); // a Saturday

describe('time formatting', () => {
  test('When a message is from today, then its day reads "Today" and its time is a clock time', () => {
    expect(dayLabel('2026-11-21T08:00:00Z', now, opts)).toBe('Today');
    expect(clockTime('2026-11-21T08:05:00Z', opts)).toBe('08:05');
  });

  test('When a message is from yesterday or earlier, then the day says so, with the year only when it differs', () => {
    expect(dayLabel('2026-11-20T23:00:00Z', now, opts)).toBe('Yesterday');
    expect(dayLabel('2026-11-03T12:00:00Z', now, opts)).toBe('Tuesday 3 November');
    expect(dayLabel('2025-12-31T12:00:00Z', now, opts)).toBe('Wednesday, 31 December 2025');
  });

  test('When days are compared, then the user’s time zone decides', () => {
    expect(sameDay('2026-11-21T23:30:00Z', '2026-11-22T00:30:00Z', { timeZone: 'UTC' })).toBe(
      false,
    );
    expect(
      sameDay('2026-11-21T23:30:00Z', '2026-11-22T00:30:00Z', { timeZone: 'America/New_York' }),
    ).toBe(true);
  });

  test('When the conversation list shows an age, then it is now, minutes, a clock time, a weekday or a date', () => {
    expect(shortAge('2026-11-21T15:29:31Z', now, opts)).toBe('now');
    expect(shortAge('2026-11-21T15:05:00Z', now, opts)).toBe('25m');
    expect(shortAge('2026-11-21T09:15:00Z', now, opts)).toBe('09:15');
    expect(shortAge('2026-11-18T09:15:00Z', now, opts)).toBe('Wed');
    expect(shortAge('2026-10-02T09:15:00Z', now, opts)).toBe('2 Oct');
  });
});
