/**
 * Local wall-clock times in IANA time zones, read with the rule of RFC 5545 and of Temporal's
 * `disambiguation: 'compatible'`:
 * - a local time that does not exist (spring-forward gap) is read with the offset before the gap,
 *   so it moves forward by the gap's length (02:30 in Europe/Berlin on 2027-03-28 is 03:30 CEST);
 * - a local time that happens twice (fall-back overlap) is its first instance (the earlier,
 *   summer-time one).
 * Only Intl is used: Node's ICU carries the tz database, and the process's own TZ plays no part.
 *
 * Local times are handled as "local milliseconds": the wall-clock fields written as if they were
 * UTC (Date.UTC of the fields), so arithmetic and croner can work on them without a time zone.
 */

/** A local date-time or time zone a caller sent is not valid; callers answer it with a 400. */
export class LocalTimeError extends Error {
  constructor(
    readonly field: 'at' | 'timezone',
    message: string,
  ) {
    super(message);
    this.name = 'LocalTimeError';
  }
}

/** Where a local time falls, as an instant, and whether it was in a spring-forward gap. */
export interface LocalTimeResolution {
  instantMs: number;
  inGap: boolean;
}

const LOCAL_DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,3}))?)?$/;
const DAY_MS = 86_400_000;
/** Formatters are costly to build; names differing only in case would otherwise grow this. */
const MAX_CACHED_FORMATTERS = 1000;
const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterFor(timeZone: string): Intl.DateTimeFormat | undefined {
  const cached = formatters.get(timeZone);
  if (cached) return cached;
  // Newer ICU versions accept UTC offsets ('+02:00') as zones; they are not IANA names, and a
  // fixed offset has no DST, which is not what a caller asking for a place's time means.
  if (!/^[A-Za-z]/.test(timeZone)) return undefined;
  let formatter: Intl.DateTimeFormat;
  try {
    formatter = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      era: 'short',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
  } catch {
    return undefined;
  }
  if (formatters.size >= MAX_CACHED_FORMATTERS) formatters.clear();
  formatters.set(timeZone, formatter);
  return formatter;
}

/** An IANA time zone name Intl knows ('Europe/Berlin', 'UTC'); not '', not '+02:00'. */
export function isValidTimeZone(name: string): boolean {
  return typeof name === 'string' && formatterFor(name) !== undefined;
}

/** Local milliseconds of date-time fields (Date.UTC would read years 0-99 as 1900-1999). */
function fieldsToLocalMs(
  year: number,
  month: number,
  day: number,
  hour: number,
  minute: number,
  second: number,
  ms = 0,
): number {
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  date.setUTCHours(hour, minute, second, ms);
  return date.getTime();
}

/** The zone's UTC offset at an instant, in milliseconds (Berlin in winter: 3,600,000). */
export function offsetMsAt(instantMs: number, timeZone: string): number {
  // The default zone of schedules: no offset to look up (Intl's lookup costs ~10 µs a call).
  if (timeZone === 'UTC') return 0;
  const formatter = formatterFor(timeZone);
  if (!formatter) throw new RangeError(`unknown time zone ${JSON.stringify(timeZone)}`);
  const wholeSeconds = Math.floor(instantMs / 1000) * 1000;
  const fields: Record<string, number> = {};
  let beforeChrist = false;
  for (const part of formatter.formatToParts(wholeSeconds)) {
    if (part.type === 'era') beforeChrist = part.value === 'BC';
    else if (part.type !== 'literal') fields[part.type] = Number(part.value);
  }
  const year = beforeChrist ? 1 - fields.year : fields.year;
  const local = fieldsToLocalMs(
    year,
    fields.month,
    fields.day,
    fields.hour,
    fields.minute,
    fields.second,
  );
  return local - wholeSeconds;
}

/**
 * The instant of a local time (in local milliseconds), with the compatible rule. The offsets a
 * day either side bracket any transition near it (Temporal's GetPossibleEpochNanoseconds does
 * the same); an offset is right if the instant it gives reads back with that offset.
 */
export function resolveLocalMs(localMs: number, timeZone: string): LocalTimeResolution {
  const before = offsetMsAt(localMs - DAY_MS, timeZone);
  const after = offsetMsAt(localMs + DAY_MS, timeZone);
  // The larger offset gives the earlier instant: in an overlap, that is the first instance.
  const candidates =
    before === after ? [before] : [Math.max(before, after), Math.min(before, after)];
  for (const offset of candidates) {
    if (offsetMsAt(localMs - offset, timeZone) === offset) {
      return { instantMs: localMs - offset, inGap: false };
    }
  }
  // No offset reads back: the time is in a gap. Read it with the offset before the gap.
  return { instantMs: localMs - before, inGap: true };
}

/** The local wall-clock time of an instant, in local milliseconds. */
export function wallClockMs(instantMs: number, timeZone: string): number {
  return instantMs + offsetMsAt(instantMs, timeZone);
}

function describe(value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(value) : String(value);
}

function daysInMonth(year: number, month: number): number {
  return new Date(fieldsToLocalMs(year, month + 1, 0, 0, 0, 0)).getUTCDate();
}

/** `YYYY-MM-DDTHH:mm[:ss[.SSS]]` without offset to local milliseconds, fields range-checked. */
export function parseLocalDateTime(local: string): number {
  const match = typeof local === 'string' ? LOCAL_DATE_TIME.exec(local) : null;
  if (match) {
    // Optional groups that did not match are undefined at run time.
    const [year, month, day, hour, minute, second] = match
      .slice(1, 7)
      .map((field: string | undefined) => Number(field ?? 0));
    const ms = Number((match[7] ?? '').padEnd(3, '0'));
    const inRange =
      year >= 1 &&
      month >= 1 &&
      month <= 12 &&
      day >= 1 &&
      day <= daysInMonth(year, month) &&
      hour <= 23 &&
      minute <= 59 &&
      second <= 59;
    if (inRange) return fieldsToLocalMs(year, month, day, hour, minute, second, ms);
  }
  throw new LocalTimeError(
    'at',
    `at must be a local date-time YYYY-MM-DDTHH:mm[:ss], got ${describe(local)}`,
  );
}

/**
 * The instant of a local date-time (`YYYY-MM-DDTHH:mm[:ss[.SSS]]`, no offset) in an IANA zone,
 * with the compatible rule (see the top of this file). Throws LocalTimeError naming the field.
 * The result's range (e.g. Unix seconds 0 to 9999-12-31) is the caller's to check.
 */
export function localToInstant(local: string, timeZone: string): Date {
  const localMs = parseLocalDateTime(local);
  if (!isValidTimeZone(timeZone)) {
    throw new LocalTimeError(
      'timezone',
      `timezone must be an IANA time zone name, got ${describe(timeZone)}`,
    );
  }
  return new Date(resolveLocalMs(localMs, timeZone).instantMs);
}
