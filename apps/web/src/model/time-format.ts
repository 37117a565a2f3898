// How times read in the UI: a clock time beside a message, "Today"/"Yesterday"/a
// date between days, and a short age in the conversation list. Locale and time zone
// are the browser's unless given (tests pin both).
export interface TimeFormatOptions {
  locale?: string;
  timeZone?: string;
}

const DAY_MS = 86_400_000;

function dayKey(date: Date, timeZone: string | undefined): string {
  // en-CA formats a date as YYYY-MM-DD, whatever the display locale.
  return new Intl.DateTimeFormat('en-CA', {
    timeZone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
  }).format(date);
}

/** Whether two instants fall on the same calendar day where the user is. */
export function sameDay(
  a: string | Date,
  b: string | Date,
  options: TimeFormatOptions = {},
): boolean {
  return dayKey(new Date(a), options.timeZone) === dayKey(new Date(b), options.timeZone);
}

/** "14:05" (or "2:05 PM", as the locale writes it). */
export function clockTime(iso: string, options: TimeFormatOptions = {}): string {
  return new Intl.DateTimeFormat(options.locale, {
    timeStyle: 'short',
    timeZone: options.timeZone,
  }).format(new Date(iso));
}

/** "Today", "Yesterday", "Monday 3 November", or with the year when it is not this one. */
export function dayLabel(iso: string, now: Date, options: TimeFormatOptions = {}): string {
  const date = new Date(iso);
  if (sameDay(date, now, options)) return 'Today';
  if (sameDay(date, new Date(now.getTime() - DAY_MS), options)) return 'Yesterday';
  const sameYear =
    dayKey(date, options.timeZone).slice(0, 4) === dayKey(now, options.timeZone).slice(0, 4);
  return new Intl.DateTimeFormat(options.locale, {
    weekday: 'long',
    day: 'numeric',
    month: 'long',
    ...(sameYear ? {} : { year: 'numeric' }),
    timeZone: options.timeZone,
  }).format(date);
}

/**
 * The age of the last activity in the conversation list: "now" under a minute, "5m"
 * under an hour, the clock time today, the weekday within a week, else a short date.
 */
export function shortAge(iso: string, now: Date, options: TimeFormatOptions = {}): string {
  const date = new Date(iso);
  const ms = now.getTime() - date.getTime();
  if (ms < 60_000) return 'now';
  if (ms < 3_600_000) return `${Math.floor(ms / 60_000)}m`;
  if (sameDay(date, now, options)) return clockTime(iso, options);
  if (ms < 6 * DAY_MS) {
    return new Intl.DateTimeFormat(options.locale, {
      weekday: 'short',
      timeZone: options.timeZone,
    }).format(date);
  }
  return new Intl.DateTimeFormat(options.locale, {
    day: 'numeric',
    month: 'short',
    timeZone: options.timeZone,
  }).format(date);
}

/** The full timestamp for a tooltip: "Friday 21 November 2026 at 14:05". */
export function fullTimestamp(iso: string, options: TimeFormatOptions = {}): string {
  return new Intl.DateTimeFormat(options.locale, {
    dateStyle: 'full',
    timeStyle: 'short',
    timeZone: options.timeZone,
  }).format(new Date(iso));
}
