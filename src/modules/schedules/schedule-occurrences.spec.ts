import { Cron } from 'croner';
import { MAX_TIMESTAMP } from '../../common/task-fields';
import {
  nextOccurrences,
  occurrencesBetween,
  parseSchedule,
  ScheduleError,
  ScheduleInput,
} from './schedule-occurrences';

// Every expectation is a UTC instant, so these hold whatever the machine's TZ is (checked with
// TZ=Asia/Tokyo). Transitions pinned (tzdata): Berlin at 01:00Z, CET<->CEST; New York at 07:00Z
// (spring, EST->EDT) and 06:00Z (fall, EDT->EST).
const BERLIN = 'Europe/Berlin';
const NEW_YORK = 'America/New_York';

/** '2027-03-28T01:30' or '2027-03-28T01:30:05' (UTC) to a full ISO string. */
function utc(short: string): string {
  return new Date(`${short}Z`).toISOString();
}

function unix(short: string): number {
  return Date.parse(`${short}Z`) / 1000;
}

function next(cron: string, timezone: string, after: string, count: number): string[] {
  const schedule = parseSchedule({ cron, timezone });
  return nextOccurrences(schedule, new Date(`${after}Z`), count).map((d) => d.toISOString());
}

function errorOf(input: ScheduleInput): ScheduleError {
  try {
    parseSchedule(input);
  } catch (error) {
    if (error instanceof ScheduleError) return error;
    throw error;
  }
  throw new Error('expected a ScheduleError');
}

function stepsOf(instants: string[]): number[] {
  return instants.slice(1).map((iso, i) => Date.parse(iso) - Date.parse(instants[i]));
}

describe('a daily schedule at 02:30 across each 2026 and 2027 transition', () => {
  it.each([
    // Spring: the missing 02:30 fires at 03:30 local. Fall: once, at the first (summer) 02:30.
    [BERLIN, '2026-03-29', ['2026-03-28T01:30', '2026-03-29T01:30', '2026-03-30T00:30']],
    [BERLIN, '2026-10-25', ['2026-10-24T00:30', '2026-10-25T00:30', '2026-10-26T01:30']],
    [BERLIN, '2027-03-28', ['2027-03-27T01:30', '2027-03-28T01:30', '2027-03-29T00:30']],
    [BERLIN, '2027-10-31', ['2027-10-30T00:30', '2027-10-31T00:30', '2027-11-01T01:30']],
    // New York repeats 01:00-01:59, not 02:30, so in the fall 02:30 EST simply happens once.
    [NEW_YORK, '2026-03-08', ['2026-03-07T07:30', '2026-03-08T07:30', '2026-03-09T06:30']],
    [NEW_YORK, '2026-11-01', ['2026-10-31T06:30', '2026-11-01T07:30', '2026-11-02T07:30']],
    [NEW_YORK, '2027-03-14', ['2027-03-13T07:30', '2027-03-14T07:30', '2027-03-15T06:30']],
    [NEW_YORK, '2027-11-07', ['2027-11-06T06:30', '2027-11-07T07:30', '2027-11-08T07:30']],
  ])('in %s around %s fires at exactly these instants', (timeZone, day, expected) => {
    const twoDaysBefore = new Date(Date.parse(`${day}T12:00:00Z`) - 2 * 86_400_000);
    const after = twoDaysBefore.toISOString().slice(0, 19);
    expect(next('30 2 * * *', timeZone, after, 3)).toEqual(expected.map(utc));
  });

  it.each([
    ['2026-11-01', ['2026-10-31T05:30', '2026-11-01T05:30', '2026-11-02T06:30']],
    ['2027-11-07', ['2027-11-06T05:30', '2027-11-07T05:30', '2027-11-08T06:30']],
  ])('at 01:30 in New York fires once on %s, at the first (EDT) 01:30', (day, expected) => {
    const after = new Date(Date.parse(`${day}T12:00:00Z`) - 2 * 86_400_000);
    expect(next('30 1 * * *', NEW_YORK, after.toISOString().slice(0, 19), 3)).toEqual(
      expected.map(utc),
    );
  });

  it('finds the shifted 02:30 when asked from just after the gap (03:15 CEST)', () => {
    expect(next('30 2 * * *', BERLIN, '2027-03-28T01:15', 2)).toEqual(
      ['2027-03-28T01:30', '2027-03-29T00:30'].map(utc),
    );
    expect(next('30 2 * * *', NEW_YORK, '2027-03-14T07:00', 1)).toEqual([utc('2027-03-14T07:30')]);
  });

  it('differs from croner alone, which runs the missing 02:30 at 03:00 (why it is wrapped)', () => {
    const croner = new Cron('30 2 * * *', { timezone: BERLIN });
    const runs = croner.nextRuns(3, new Date('2027-03-26T00:00:00Z')).map((d) => d.toISOString());
    expect(runs[2]).toBe(utc('2027-03-28T01:00'));
    expect(next('30 2 * * *', BERLIN, '2027-03-26T00:00', 3)[2]).toBe(utc('2027-03-28T01:30'));
  });
});

describe('every 15 minutes across each 2026 and 2027 transition', () => {
  // Spring: local 02:00 (shifted to 03:00) and the real 03:00 are one instant, fired once; 03:15
  // fires once. Fall: each local time fires once, at its first instance, so the repeated hour's
  // second pass (02:00-02:45 CET in Berlin, 01:00-01:45 EST in New York) is skipped.
  const berlinSpring = (d: string) => [`${d}T00:45`, `${d}T01:00`, `${d}T01:15`, `${d}T01:30`];
  const berlinFall = (eve: string, d: string) => [
    `${eve}T23:45`,
    `${d}T00:00`,
    `${d}T00:15`,
    `${d}T00:30`,
    `${d}T00:45`,
    `${d}T02:00`,
    `${d}T02:15`,
  ];
  const newYorkSpring = (d: string) => [`${d}T06:45`, `${d}T07:00`, `${d}T07:15`, `${d}T07:30`];
  const newYorkFall = (d: string) => [
    `${d}T04:45`,
    `${d}T05:00`,
    `${d}T05:15`,
    `${d}T05:30`,
    `${d}T05:45`,
    `${d}T07:00`,
    `${d}T07:15`,
  ];

  it.each([
    [BERLIN, '2026-03-29T00:30', berlinSpring('2026-03-29')],
    [BERLIN, '2026-10-24T23:30', berlinFall('2026-10-24', '2026-10-25')],
    [BERLIN, '2027-03-28T00:30', berlinSpring('2027-03-28')],
    [BERLIN, '2027-10-30T23:30', berlinFall('2027-10-30', '2027-10-31')],
    [NEW_YORK, '2026-03-08T06:30', newYorkSpring('2026-03-08')],
    [NEW_YORK, '2026-11-01T04:30', newYorkFall('2026-11-01')],
    [NEW_YORK, '2027-03-14T06:30', newYorkSpring('2027-03-14')],
    [NEW_YORK, '2027-11-07T04:30', newYorkFall('2027-11-07')],
  ])('in %s after %sZ gives exactly these instants', (timeZone, after, expected) => {
    const runs = next('*/15 * * * *', timeZone, after, expected.length);
    expect(runs).toEqual(expected.map(utc));
    expect(new Set(runs).size).toBe(runs.length);
  });
});

describe('every hour across fall back and spring forward', () => {
  it.each([
    [BERLIN, '2026-10-24T22:30', ['2026-10-24T23:00', '2026-10-25T00:00', '2026-10-25T02:00']],
    [BERLIN, '2027-10-30T22:30', ['2027-10-30T23:00', '2027-10-31T00:00', '2027-10-31T02:00']],
    [NEW_YORK, '2026-11-01T03:30', ['2026-11-01T04:00', '2026-11-01T05:00', '2026-11-01T07:00']],
    [NEW_YORK, '2027-11-07T03:30', ['2027-11-07T04:00', '2027-11-07T05:00', '2027-11-07T07:00']],
  ])('in %s after %sZ fires the repeated hour once', (timeZone, after, expected) => {
    expect(next('0 * * * *', timeZone, after, 3)).toEqual(expected.map(utc));
  });

  it('fires the missing hour once, at the real 03:00 CEST', () => {
    expect(next('0 * * * *', BERLIN, '2027-03-27T23:30', 3)).toEqual(
      ['2027-03-28T00:00', '2027-03-28T01:00', '2027-03-28T02:00'].map(utc),
    );
  });
});

describe('a 6-field every-second pattern', () => {
  it.each([
    [BERLIN, '2026-03-29T00:59:50'],
    [BERLIN, '2027-03-28T00:59:50'],
    [NEW_YORK, '2026-03-08T06:59:50'],
    [NEW_YORK, '2027-03-14T06:59:50'],
  ])('in %s across the gap after %sZ gives each second once, in order', (timeZone, after) => {
    const runs = next('* * * * * *', timeZone, after, 30);
    expect(runs[0]).toBe(new Date(Date.parse(`${after}Z`) + 1000).toISOString());
    expect(stepsOf(runs)).toEqual(Array<number>(29).fill(1000));
  });

  it('starting inside the instants a gap was shifted onto, gives each second once', () => {
    expect(next('* * * * * *', BERLIN, '2027-03-28T01:30:00', 3)).toEqual(
      ['2027-03-28T01:30:01', '2027-03-28T01:30:02', '2027-03-28T01:30:03'].map(utc),
    );
  });

  it('across fall back skips the second pass of the repeated hour', () => {
    expect(next('* * * * * *', BERLIN, '2027-10-31T00:59:58', 3)).toEqual(
      ['2027-10-31T00:59:59', '2027-10-31T02:00:00', '2027-10-31T02:00:01'].map(utc),
    );
  });

  it('has a 1 s period, starting at the next whole second', () => {
    const schedule = parseSchedule({ cron: '* * * * * *' });
    const runs = nextOccurrences(schedule, new Date('2027-01-01T10:00:00.500Z'), 3);
    expect(runs.map((d) => d.toISOString())).toEqual(
      ['2027-01-01T10:00:01', '2027-01-01T10:00:02', '2027-01-01T10:00:03'].map(utc),
    );
    expect(schedule.hasSeconds).toBe(true);
  });
});

describe('ordering across a gap', () => {
  it('puts a shifted gap time after a real time that croner lists later (Lord Howe, 30 min)', () => {
    // 2026-10-04 02:00 (+10:30) jumps to 02:30 (+11) at 15:30Z. Local 02:00 and 02:20 are in the
    // gap (fire 02:30 and 02:50); local 02:40 is real (15:40Z), between them.
    expect(next('*/20 2 * * *', 'Australia/Lord_Howe', '2026-10-03T00:00', 4)).toEqual(
      ['2026-10-03T15:30', '2026-10-03T15:40', '2026-10-03T15:50', '2026-10-04T15:00'].map(utc),
    );
  });

  it('fires a gap time and the real time it is shifted onto once', () => {
    expect(next('10,45 2,3 * * *', BERLIN, '2027-03-27T23:00', 4)).toEqual(
      ['2027-03-28T01:10', '2027-03-28T01:45', '2027-03-29T00:10', '2027-03-29T00:45'].map(utc),
    );
  });
});

describe('parseSchedule', () => {
  it('defaults the time zone to UTC and reads 5 fields with seconds at 0', () => {
    const schedule = parseSchedule({ cron: ' 0 9 * * * ' });
    expect(schedule).toMatchObject({ cron: '0 9 * * *', timezone: 'UTC', hasSeconds: false });
    expect(nextOccurrences(schedule, new Date('2027-01-01T09:00:00Z'), 1)).toEqual([
      new Date('2027-01-02T09:00:00Z'),
    ]);
  });

  it('fires when either day-of-month or day-of-week matches (Vixie cron), both with +', () => {
    expect(next('0 12 13 * 5', 'UTC', '2027-09-01T00:00', 4)).toEqual(
      ['2027-09-03T12:00', '2027-09-10T12:00', '2027-09-13T12:00', '2027-09-17T12:00'].map(utc),
    );
    expect(next('0 12 13 * +5', 'UTC', '2027-09-01T00:00', 1)).toEqual([utc('2028-10-13T12:00')]);
  });

  it.each<[string, ScheduleInput, string, RegExp]>([
    ['an empty cron', { cron: '' }, 'cron', /^cron must have 5 fields/],
    ['4 fields', { cron: '* * * *' }, 'cron', /^cron must have 5 fields/],
    ['7 fields', { cron: '0 0 0 1 1 * 2030' }, 'cron', /^cron must have 5 fields/],
    ['a nickname', { cron: '@daily' }, 'cron', /^cron must have 5 fields/],
    ['a cron that is not a string', { cron: 42 as unknown as string }, 'cron', /^cron must/],
    ['minute 60', { cron: '60 * * * *' }, 'cron', /^cron is not a valid expression/],
    ['second 60', { cron: '60 * * * * *' }, 'cron', /^cron is not a valid expression/],
    ['words', { cron: 'a b c d e' }, 'cron', /^cron is not a valid expression/],
    ['a zero step', { cron: '*/0 * * * *' }, 'cron', /^cron is not a valid expression/],
    ['30 February', { cron: '0 0 30 2 *' }, 'cron', /^cron never fires/],
    ['31 April', { cron: '0 0 31 4 *' }, 'cron', /^cron never fires/],
    ['an unknown zone', { cron: '* * * * *', timezone: 'Mars/Base' }, 'timezone', /Mars\/Base/],
    ['an empty zone', { cron: '* * * * *', timezone: '' }, 'timezone', /^timezone must be/],
    ['an offset zone', { cron: '* * * * *', timezone: '+02:00' }, 'timezone', /^timezone must/],
    ['a negative startAt', { cron: '* * * * *', startAt: -1 }, 'startAt', /^startAt must be/],
    ['a fractional startAt', { cron: '* * * * *', startAt: 1.5 }, 'startAt', /^startAt must/],
    [
      'a string startAt',
      { cron: '* * * * *', startAt: '9' as unknown as number },
      'startAt',
      /^startAt/,
    ],
    ['startAt past 9999', { cron: '* * * * *', startAt: MAX_TIMESTAMP + 1 }, 'startAt', /^startAt/],
    ['a negative endAt', { cron: '* * * * *', endAt: -1 }, 'endAt', /^endAt must be Unix seconds/],
    [
      'endAt equal to startAt',
      { cron: '* * * * *', startAt: 60, endAt: 60 },
      'endAt',
      /after startAt/,
    ],
    [
      'endAt before startAt',
      { cron: '* * * * *', startAt: 60, endAt: 0 },
      'endAt',
      /after startAt/,
    ],
    [
      'no occurrence between startAt and endAt',
      { cron: '0 * * * *', startAt: unix('2027-01-01T00:01'), endAt: unix('2027-01-01T00:59') },
      'endAt',
      /no occurrence between startAt and endAt/,
    ],
    [
      'no occurrence after startAt',
      { cron: '0 0 1 1 *', startAt: MAX_TIMESTAMP - 60 },
      'startAt',
      /no occurrence after startAt/,
    ],
  ])('refuses %s, naming the field', (_, input, field, message) => {
    const error = errorOf(input);
    expect(error.field).toBe(field);
    expect(error.message).toMatch(message);
    expect(error.message).toContain(field);
  });
});

describe('startAt and endAt bounds (both inclusive)', () => {
  const schedule = parseSchedule({
    cron: '0 9 * * *',
    startAt: unix('2027-01-10T09:00'),
    endAt: unix('2027-01-12T09:00'),
  });

  it('fires at startAt and at endAt exactly, and nothing outside them', () => {
    const runs = nextOccurrences(schedule, new Date('2027-01-01T00:00:00Z'), 10);
    expect(runs.map((d) => d.toISOString())).toEqual(
      ['2027-01-10T09:00', '2027-01-11T09:00', '2027-01-12T09:00'].map(utc),
    );
  });

  it('gives nothing after endAt, and starts after `after` when that is later than startAt', () => {
    expect(nextOccurrences(schedule, new Date('2027-01-12T09:00:00Z'), 5)).toEqual([]);
    expect(nextOccurrences(schedule, new Date('2027-01-10T09:00:00Z'), 5)).toHaveLength(2);
  });

  it('accepts a window holding a single occurrence', () => {
    const single = {
      cron: '0 * * * *',
      startAt: unix('2027-01-01T00:59'),
      endAt: unix('2027-01-01T01:00'),
    };
    expect(nextOccurrences(parseSchedule(single), new Date(0), 5)).toEqual([
      new Date('2027-01-01T01:00:00Z'),
    ]);
  });
});

describe('nextOccurrences count', () => {
  const everyMinute = parseSchedule({ cron: '* * * * *', timezone: BERLIN });
  const after = new Date('2027-01-01T10:00:00Z');

  it('gives exactly count occurrences, strictly after `after`', () => {
    const runs = nextOccurrences(everyMinute, after, 5);
    expect(runs[0]).toEqual(new Date('2027-01-01T10:01:00Z'));
    expect(stepsOf(runs.map((d) => d.toISOString()))).toEqual([60_000, 60_000, 60_000, 60_000]);
    expect(nextOccurrences(everyMinute, after, 0)).toEqual([]);
  });

  it.each([-1, 1.5, NaN])('refuses a count of %p', (count) => {
    expect(() => nextOccurrences(everyMinute, after, count)).toThrow(RangeError);
  });

  it('refuses an invalid Date', () => {
    expect(() => nextOccurrences(everyMinute, new Date(NaN), 1)).toThrow(RangeError);
  });
});

describe('occurrencesBetween (the missed-run policies)', () => {
  const everyMinute = parseSchedule({ cron: '* * * * *' });
  const from = new Date('2027-01-01T10:00:00Z');
  const to = new Date('2027-01-01T10:10:00Z');
  const between = (schedule: typeof everyMinute, a: Date, b: Date, limit: number) =>
    occurrencesBetween(schedule, a, b, limit).map((d) => d.toISOString());

  it('excludes `fromExclusive` and includes `toInclusive`', () => {
    const runs = between(everyMinute, from, to, 100);
    expect(runs).toHaveLength(10);
    expect(runs[0]).toBe(utc('2027-01-01T10:01'));
    expect(runs[9]).toBe(utc('2027-01-01T10:10'));
  });

  it('keeps the latest `limit` ones (`all`), and limit 1 is the latest (`once`)', () => {
    expect(between(everyMinute, from, to, 3)).toEqual(
      ['2027-01-01T10:08', '2027-01-01T10:09', '2027-01-01T10:10'].map(utc),
    );
    expect(between(everyMinute, from, to, 1)).toEqual([utc('2027-01-01T10:10')]);
  });

  it('gives nothing for limit 0 or an empty window, and refuses a bad limit', () => {
    expect(between(everyMinute, from, to, 0)).toEqual([]);
    expect(between(everyMinute, to, to, 5)).toEqual([]);
    expect(between(everyMinute, to, from, 5)).toEqual([]);
    expect(() => occurrencesBetween(everyMinute, from, to, -1)).toThrow(RangeError);
  });

  it('caps a week-long outage of an every-second schedule at 1,000, the latest', () => {
    const everySecond = parseSchedule({ cron: '* * * * * *', timezone: BERLIN });
    const end = new Date('2027-03-29T00:00:00Z');
    const runs = between(everySecond, new Date('2027-03-22T00:00:00Z'), end, 1000);
    expect(runs).toHaveLength(1000);
    expect(runs[999]).toBe(end.toISOString());
    expect(stepsOf(runs)).toEqual(Array<number>(999).fill(1000));
  });

  it('finds sparse occurrences far back (29 February over 30 years)', () => {
    const leapDay = parseSchedule({ cron: '0 0 29 2 *', timezone: NEW_YORK });
    const runs = between(
      leapDay,
      new Date('2000-01-01T00:00:00Z'),
      new Date('2030-01-01T00:00:00Z'),
      1000,
    );
    expect(runs).toEqual(
      ['2000', '2004', '2008', '2012', '2016', '2020', '2024', '2028'].map((y) =>
        utc(`${y}-02-29T05:00`),
      ),
    );
  });

  it('applies the DST rule and the schedule bounds inside the window', () => {
    const quarterly = parseSchedule({ cron: '*/15 * * * *', timezone: BERLIN });
    const fallBack = [new Date('2027-10-30T23:30:00Z'), new Date('2027-10-31T02:15:00Z')] as const;
    expect(between(quarterly, ...fallBack, 1000)).toEqual(
      [
        '2027-10-30T23:45',
        '2027-10-31T00:00',
        '2027-10-31T00:15',
        '2027-10-31T00:30',
        '2027-10-31T00:45',
        '2027-10-31T02:00',
        '2027-10-31T02:15',
      ].map(utc),
    );
    const bounded = parseSchedule({
      cron: '*/15 * * * *',
      timezone: BERLIN,
      endAt: unix('2027-10-31T00:30'),
    });
    expect(between(bounded, ...fallBack, 1)).toEqual([utc('2027-10-31T00:30')]);
  });
});
