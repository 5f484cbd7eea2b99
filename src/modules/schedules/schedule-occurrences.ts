import { Cron } from 'croner';
import { isValidTimeZone, offsetMsAt, resolveLocalMs } from '../../common/local-time';
import { MAX_TIMESTAMP } from '../../common/task-fields';

/**
 * When a schedule fires: pure time computation, no clock, no database.
 *
 * Occurrences are computed on local wall-clock fields in the schedule's IANA zone, with the DST
 * rule of RFC 5545 and Temporal's `compatible` disambiguation (see common/local-time.ts):
 * - a local time in a spring-forward gap fires shifted forward by the gap's length (02:30 in
 *   Berlin on 2027-03-28 fires at 03:30 CEST, 01:30Z);
 * - a local time that happens twice fires once, at its first instance. So a pattern matching
 *   every local time of the repeated hour (`*\/15 * * * *`, `0 * * * *`, every second) skips its
 *   second pass: 02:00, 02:15, 02:30, 02:45 CEST, then 03:00 CET, not 02:00-02:45 CET again;
 * - an occurrence is an instant, and one instant fires once: across a gap, local 02:00 (shifted
 *   to 03:00 CEST) and the real 03:00 CEST are the same instant and fire once.
 *
 * croner's own time-zone handling does not follow this (for a fixed-time job it runs a time in a
 * gap at the end of the gap, 03:00 for 02:30; interval jobs skip gap times and run both passes
 * of a repeated hour). So croner runs with a zero UTC offset, as a calendar of local wall-clock
 * times only, and each local time is turned into an instant here.
 *
 * Patterns: 5 fields (minute hour day-of-month month day-of-week, minute precision, seconds 0)
 * or 6 fields (seconds first). A 6-field pattern can fire every second; 1 s is the shortest
 * period, and nothing shorter can be written, so no pattern is refused for its frequency. When
 * both day-of-month and day-of-week are restricted, either one matching is enough (Vixie cron;
 * croner's `domAndDow: false`, the deprecated `legacyMode: true`); `+` before the day of week
 * asks for both. croner's extensions (L, W, #, month and day names, `?` as `*`) are accepted;
 * nicknames (`@daily`) and 7-field (year) patterns are not.
 */

export type ScheduleField = 'cron' | 'timezone' | 'startAt' | 'endAt';

/** A schedule a caller sent is not valid; `field` names the input, callers answer 400. */
export class ScheduleError extends Error {
  constructor(
    readonly field: ScheduleField,
    message: string,
  ) {
    super(message);
    this.name = 'ScheduleError';
  }
}

export interface ScheduleInput {
  cron: string;
  /** IANA time zone name; default 'UTC'. */
  timezone?: string;
  /** Unix seconds; the first occurrence may be at startAt exactly (inclusive). */
  startAt?: number;
  /** Unix seconds; the last occurrence may be at endAt exactly (inclusive). */
  endAt?: number;
}

export interface ParsedSchedule {
  readonly cron: string;
  readonly timezone: string;
  readonly startAt?: number;
  readonly endAt?: number;
  /** 6 fields: the pattern has seconds. */
  readonly hasSeconds: boolean;
  /** croner over local wall-clock times written as UTC (local milliseconds), see above. */
  readonly localCalendar: Cron;
}

const HOUR_MS = 3_600_000;
/** Longer than the longest gap on record (Samoa skipped 2011-12-30, 24 h). */
const LONGEST_GAP_MS = 25 * HOUR_MS;
const TIMESTAMP_RANGE = `Unix seconds from 0 to ${MAX_TIMESTAMP}`;

function cronerMessage(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.replace(/^CronPattern: /, '');
}

function parseCron(cron: unknown): { localCalendar: Cron; hasSeconds: boolean } {
  const fields = typeof cron === 'string' ? cron.trim().split(/\s+/) : [];
  if (fields.length !== 5 && fields.length !== 6) {
    throw new ScheduleError(
      'cron',
      'cron must have 5 fields (minute hour day-of-month month day-of-week) or 6 (seconds first)',
    );
  }
  const hasSeconds = fields.length === 6;
  try {
    // utcOffset 0 (not timezone 'UTC', which goes through Intl on every step and is 25x slower).
    const localCalendar = new Cron(fields.join(' '), {
      utcOffset: 0,
      mode: hasSeconds ? '6-part' : '5-part',
      domAndDow: false,
    });
    return { localCalendar, hasSeconds };
  } catch (error) {
    throw new ScheduleError('cron', `cron is not a valid expression: ${cronerMessage(error)}`);
  }
}

function parseUnixSeconds(field: 'startAt' | 'endAt', value: unknown): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > MAX_TIMESTAMP) {
    throw new ScheduleError(field, `${field} must be ${TIMESTAMP_RANGE}`);
  }
  return value;
}

/**
 * Validates a schedule and prepares it for nextOccurrences/occurrencesBetween. Throws
 * ScheduleError naming the field: an invalid cron, an unknown time zone, a bound out of range,
 * endAt not after startAt, a cron that never fires (`0 0 30 2 *`), or no occurrence between
 * startAt and endAt.
 */
export function parseSchedule(input: ScheduleInput): ParsedSchedule {
  const { localCalendar, hasSeconds } = parseCron(input.cron);
  const timezone = input.timezone ?? 'UTC';
  if (!isValidTimeZone(timezone)) {
    throw new ScheduleError(
      'timezone',
      `timezone must be an IANA time zone name, got ${JSON.stringify(timezone)}`,
    );
  }
  const startAt = parseUnixSeconds('startAt', input.startAt);
  const endAt = parseUnixSeconds('endAt', input.endAt);
  if (startAt !== undefined && endAt !== undefined && endAt <= startAt) {
    throw new ScheduleError('endAt', 'endAt must be after startAt');
  }
  const cron = input.cron.trim();
  const schedule = Object.freeze({ cron, timezone, startAt, endAt, hasSeconds, localCalendar });
  assertFires(schedule);
  return schedule;
}

function assertFires(schedule: ParsedSchedule): void {
  const firstAfterStart = new Date((schedule.startAt ?? 0) * 1000 - 1);
  if (nextOccurrences(schedule, firstAfterStart, 1).length > 0) return;
  const unbounded = { ...schedule, startAt: undefined, endAt: undefined };
  if (nextOccurrences(unbounded, new Date(-1), 1).length === 0) {
    throw new ScheduleError('cron', `cron never fires: ${schedule.cron}`);
  }
  if (schedule.endAt !== undefined) {
    throw new ScheduleError('endAt', 'the schedule has no occurrence between startAt and endAt');
  }
  throw new ScheduleError('startAt', 'the schedule has no occurrence after startAt');
}

/**
 * Where croner starts its search so no occurrence after `afterMs` is missed. A local time in a
 * gap fires up to a gap's length later than its wall-clock reading (02:30 fires at 03:30), so
 * just after a gap the search starts from the wall clock read with the offset before the gap:
 * the smaller of the offsets now and a longest gap ago. Croner's search is exclusive of it.
 */
function searchStartLocalMs(afterMs: number, timeZone: string): number {
  const offsetNow = offsetMsAt(afterMs, timeZone);
  const offsetBefore = offsetMsAt(afterMs - LONGEST_GAP_MS, timeZone);
  return afterMs + Math.min(offsetNow, offsetBefore);
}

function insertSorted(sorted: number[], value: number): void {
  let index = sorted.length;
  while (index > 0 && sorted[index - 1] > value) index -= 1;
  sorted.splice(index, 0, value);
}

/**
 * Occurrence instants (ms) strictly after `afterMs`, within startAt/endAt, increasing, each once.
 * Local times map to instants in order, except in a gap: 02:30 (gap) maps to 01:30Z, after the
 * real 03:10 CEST (01:10Z) that croner lists later. So instants from gap times wait in `pending`
 * until a time outside any gap is reached; nothing after that can map before it.
 */
function* instantsAfter(schedule: ParsedSchedule, afterMs: number): Generator<number> {
  const fromMs = Math.max(afterMs, (schedule.startAt ?? 0) * 1000 - 1);
  const endMs = schedule.endAt === undefined ? Infinity : schedule.endAt * 1000;
  const pending: number[] = [];
  let lastMs = fromMs;
  let localMs: number | undefined = searchStartLocalMs(fromMs, schedule.timezone);
  while (localMs !== undefined) {
    localMs = schedule.localCalendar.nextRun(new Date(localMs))?.getTime();
    // After croner's last run (year 9999), everything pending is safe to give.
    const { instantMs, inGap } =
      localMs === undefined
        ? { instantMs: Infinity, inGap: false }
        : resolveLocalMs(localMs, schedule.timezone);
    if (localMs !== undefined) insertSorted(pending, instantMs);
    if (inGap) continue;
    while (pending.length > 0 && pending[0] <= instantMs) {
      const next = pending.shift() as number;
      if (next > endMs) return;
      // One instant fires once: a gap time shifted onto a real time is dropped here.
      if (next > lastMs) {
        lastMs = next;
        yield next;
      }
    }
  }
}

function assertCount(name: string, value: number): void {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new RangeError(`${name} must be a non-negative integer, got ${value}`);
  }
}

function assertDate(name: string, value: Date): void {
  if (Number.isNaN(value.getTime())) throw new RangeError(`${name} is an invalid Date`);
}

/** The next `count` occurrences strictly after `after`, within startAt/endAt, increasing. */
export function nextOccurrences(schedule: ParsedSchedule, after: Date, count: number): Date[] {
  assertDate('after', after);
  assertCount('count', count);
  const found: Date[] = [];
  if (count === 0) return found;
  for (const instantMs of instantsAfter(schedule, after.getTime())) {
    found.push(new Date(instantMs));
    if (found.length === count) break;
  }
  return found;
}

/**
 * The latest `limit` occurrences in (fromExclusive, toInclusive], increasing: the missed-run
 * policy's runs (`all`: limit 1,000, older ones dropped; `once`: limit 1, the latest). The
 * window is searched back from toInclusive in spans growing 4x, so a long outage of a frequent
 * schedule costs about `limit` occurrences, not every one missed.
 */
export function occurrencesBetween(
  schedule: ParsedSchedule,
  fromExclusive: Date,
  toInclusive: Date,
  limit: number,
): Date[] {
  assertDate('fromExclusive', fromExclusive);
  assertDate('toInclusive', toInclusive);
  assertCount('limit', limit);
  const fromMs = fromExclusive.getTime();
  const toMs = toInclusive.getTime();
  if (limit === 0 || toMs <= fromMs) return [];
  for (let spanMs = Math.max(limit * 1000, 60_000); ; spanMs *= 4) {
    const startMs = Math.max(fromMs, toMs - spanMs);
    const found: number[] = [];
    for (const instantMs of instantsAfter(schedule, startMs)) {
      if (instantMs > toMs) break;
      found.push(instantMs);
    }
    if (found.length >= limit || startMs === fromMs) {
      return found.slice(-limit).map((instantMs) => new Date(instantMs));
    }
  }
}

/** How many occurrences fall in (fromExclusive, toInclusive], counting up to `cap`. */
export function countOccurrencesBetween(
  schedule: ParsedSchedule,
  fromExclusive: Date,
  toInclusive: Date,
  cap: number,
): number {
  assertDate('fromExclusive', fromExclusive);
  assertDate('toInclusive', toInclusive);
  assertCount('cap', cap);
  const toMs = toInclusive.getTime();
  let count = 0;
  if (cap === 0) return count;
  for (const instantMs of instantsAfter(schedule, fromExclusive.getTime())) {
    if (instantMs > toMs) break;
    count += 1;
    if (count === cap) break;
  }
  return count;
}

/**
 * The occurrences in (after, until], at most `max`, increasing, and the first occurrence after
 * them (null: none left). Computed lazily: a schedule is never searched further than that.
 */
export function occurrencesThrough(
  schedule: ParsedSchedule,
  after: Date,
  until: Date,
  max: number,
): { within: Date[]; next: Date | null } {
  assertDate('after', after);
  assertDate('until', until);
  assertCount('max', max);
  const untilMs = until.getTime();
  const within: Date[] = [];
  for (const instantMs of instantsAfter(schedule, after.getTime())) {
    if (instantMs > untilMs || within.length === max) return { within, next: new Date(instantMs) };
    within.push(new Date(instantMs));
  }
  return { within, next: null };
}
