import {
  isValidTimeZone,
  localToInstant,
  LocalTimeError,
  offsetMsAt,
  resolveLocalMs,
  wallClockMs,
} from './local-time';

// Every expectation is a UTC instant, so these hold whatever the machine's TZ is (checked with
// TZ=Asia/Tokyo).
const BERLIN = 'Europe/Berlin';
const NEW_YORK = 'America/New_York';
const HOUR_MS = 3_600_000;

function instant(local: string, timeZone: string): string {
  return localToInstant(local, timeZone).toISOString();
}

function errorOf(call: () => unknown): LocalTimeError {
  try {
    call();
  } catch (error) {
    if (error instanceof LocalTimeError) return error;
    throw error;
  }
  throw new Error('expected a LocalTimeError');
}

describe('isValidTimeZone', () => {
  it.each(['Europe/Berlin', 'America/New_York', 'UTC', 'Etc/GMT+2', 'Australia/Lord_Howe'])(
    'accepts the IANA name %s',
    (name) => {
      expect(isValidTimeZone(name)).toBe(true);
    },
  );

  it.each(['', 'Mars/Base', '+02:00', '-05:00', '+0200', 'GMT+2', 'Z', 'Europe/'])(
    'rejects %p',
    (name) => {
      expect(isValidTimeZone(name)).toBe(false);
    },
  );

  it('rejects a value that is not a string', () => {
    expect(isValidTimeZone(42 as unknown as string)).toBe(false);
  });
});

describe('localToInstant on ordinary times', () => {
  it.each([
    ['2027-01-15T12:00', BERLIN, '2027-01-15T11:00:00.000Z'],
    ['2027-07-15T12:00:00', BERLIN, '2027-07-15T10:00:00.000Z'],
    ['2027-01-15T12:00', NEW_YORK, '2027-01-15T17:00:00.000Z'],
    ['2027-07-15T12:00:00.250', NEW_YORK, '2027-07-15T16:00:00.250Z'],
    ['2027-07-15T12:00:00.5', NEW_YORK, '2027-07-15T16:00:00.500Z'],
    ['2028-02-29T23:59:59', 'UTC', '2028-02-29T23:59:59.000Z'],
    ['0099-06-01T00:00', 'UTC', '0099-06-01T00:00:00.000Z'],
  ])('reads %s in %s as %s', (local, timeZone, expected) => {
    expect(instant(local, timeZone)).toBe(expected);
  });
});

describe('localToInstant in a spring-forward gap (moved forward by the gap)', () => {
  it.each([
    // Berlin: 02:00 CET jumps to 03:00 CEST at 01:00Z.
    ['2026-03-29T02:30', BERLIN, '2026-03-29T01:30:00.000Z'],
    ['2027-03-28T02:30', BERLIN, '2027-03-28T01:30:00.000Z'],
    ['2027-03-28T02:00', BERLIN, '2027-03-28T01:00:00.000Z'],
    ['2027-03-28T02:59:59', BERLIN, '2027-03-28T01:59:59.000Z'],
    // New York: 02:00 EST jumps to 03:00 EDT at 07:00Z.
    ['2026-03-08T02:30', NEW_YORK, '2026-03-08T07:30:00.000Z'],
    ['2027-03-14T02:30', NEW_YORK, '2027-03-14T07:30:00.000Z'],
    ['2027-03-14T02:00', NEW_YORK, '2027-03-14T07:00:00.000Z'],
  ])('reads %s in %s as %s', (local, timeZone, expected) => {
    expect(instant(local, timeZone)).toBe(expected);
  });

  it('reads the times just around the Berlin gap with their own offsets', () => {
    expect(instant('2027-03-28T01:59:59', BERLIN)).toBe('2027-03-28T00:59:59.000Z');
    expect(instant('2027-03-28T03:00', BERLIN)).toBe('2027-03-28T01:00:00.000Z');
    expect(instant('2027-03-28T03:30', BERLIN)).toBe('2027-03-28T01:30:00.000Z');
  });

  it('says which local times were in a gap', () => {
    const gap = resolveLocalMs(Date.parse('2027-03-28T02:30:00Z'), BERLIN);
    const after = resolveLocalMs(Date.parse('2027-03-28T03:30:00Z'), BERLIN);
    expect(gap).toEqual({ instantMs: Date.parse('2027-03-28T01:30:00Z'), inGap: true });
    expect(after).toEqual({ instantMs: Date.parse('2027-03-28T01:30:00Z'), inGap: false });
  });
});

describe('localToInstant in a fall-back overlap (the first instance)', () => {
  it.each([
    // Berlin: 03:00 CEST falls back to 02:00 CET at 01:00Z; 02:00-02:59 happens twice.
    ['2026-10-25T02:30', BERLIN, '2026-10-25T00:30:00.000Z'],
    ['2027-10-31T02:30', BERLIN, '2027-10-31T00:30:00.000Z'],
    ['2027-10-31T02:00', BERLIN, '2027-10-31T00:00:00.000Z'],
    ['2027-10-31T02:59:59', BERLIN, '2027-10-31T00:59:59.000Z'],
    ['2027-10-31T03:00', BERLIN, '2027-10-31T02:00:00.000Z'],
    // New York: 02:00 EDT falls back to 01:00 EST at 06:00Z; 01:00-01:59 happens twice.
    ['2026-11-01T01:30', NEW_YORK, '2026-11-01T05:30:00.000Z'],
    ['2027-11-07T01:30', NEW_YORK, '2027-11-07T05:30:00.000Z'],
    ['2027-11-07T01:00', NEW_YORK, '2027-11-07T05:00:00.000Z'],
    ['2027-11-07T02:00', NEW_YORK, '2027-11-07T07:00:00.000Z'],
    ['2027-11-07T02:30', NEW_YORK, '2027-11-07T07:30:00.000Z'],
  ])('reads %s in %s as %s', (local, timeZone, expected) => {
    expect(instant(local, timeZone)).toBe(expected);
  });
});

describe('localToInstant around every 2026 and 2027 transition', () => {
  const days: [string, string][] = [
    [BERLIN, '2026-03-29'],
    [BERLIN, '2026-10-25'],
    [BERLIN, '2027-03-28'],
    [BERLIN, '2027-10-31'],
    [NEW_YORK, '2026-03-08'],
    [NEW_YORK, '2026-11-01'],
    [NEW_YORK, '2027-03-14'],
    [NEW_YORK, '2027-11-07'],
  ];

  it.each(days)(
    'in %s on %s, reading an instant back gives it, or its first instance',
    (timeZone, day) => {
      // Every five minutes from a day before to a day after, as instants.
      const startMs = Date.parse(`${day}T00:00:00Z`) - 24 * HOUR_MS;
      const wrong: string[] = [];
      for (let ms = startMs; ms < startMs + 48 * HOUR_MS; ms += 300_000) {
        const local = new Date(wallClockMs(ms, timeZone)).toISOString().slice(0, 19);
        const readBack = localToInstant(local, timeZone).getTime();
        const sameWallClock = new Date(wallClockMs(readBack, timeZone)).toISOString();
        // The second pass of a repeated hour reads back as the first, an hour earlier.
        const ok =
          readBack === ms || (readBack === ms - HOUR_MS && sameWallClock.startsWith(local));
        if (!ok) wrong.push(`${new Date(ms).toISOString()} -> ${new Date(readBack).toISOString()}`);
      }
      expect(wrong).toEqual([]);
    },
  );

  it('knows the offsets either side of a transition', () => {
    expect(offsetMsAt(Date.parse('2027-03-28T00:59:59Z'), BERLIN)).toBe(HOUR_MS);
    expect(offsetMsAt(Date.parse('2027-03-28T01:00:00Z'), BERLIN)).toBe(2 * HOUR_MS);
    expect(offsetMsAt(Date.parse('2027-11-07T05:59:59Z'), NEW_YORK)).toBe(-4 * HOUR_MS);
    expect(offsetMsAt(Date.parse('2027-11-07T06:00:00Z'), NEW_YORK)).toBe(-5 * HOUR_MS);
  });
});

describe('localToInstant validation', () => {
  it.each([
    '',
    '2027-03-28',
    '2027-03-28T02',
    '2027-03-28T02:30Z',
    '2027-03-28T02:30:00+01:00',
    '2027-03-28 02:30',
    '2027-03-28t02:30',
    '2027-3-28T02:30',
    '2027-02-29T00:00',
    '2027-02-30T00:00',
    '2027-04-31T00:00',
    '2027-13-01T00:00',
    '2027-00-01T00:00',
    '2027-01-00T00:00',
    '2027-01-01T24:00',
    '2027-01-01T12:60',
    '2027-01-01T12:00:60',
    '2027-01-01T12:00:00.1234',
    '0000-01-01T00:00',
    ' 2027-01-01T12:00',
  ])('refuses the local date-time %p, naming `at`', (local) => {
    const error = errorOf(() => localToInstant(local, BERLIN));
    expect(error.field).toBe('at');
    expect(error.message).toBe(
      `at must be a local date-time YYYY-MM-DDTHH:mm[:ss], got ${JSON.stringify(local)}`,
    );
  });

  it('refuses a local date-time that is not a string', () => {
    const error = errorOf(() => localToInstant(1700000000 as unknown as string, BERLIN));
    expect(error.message).toBe(
      'at must be a local date-time YYYY-MM-DDTHH:mm[:ss], got 1700000000',
    );
  });

  it.each(['', 'Mars/Base', '+02:00', 'GMT+2'])('refuses the time zone %p, naming it', (zone) => {
    const error = errorOf(() => localToInstant('2027-03-28T02:30', zone));
    expect(error).toBeInstanceOf(LocalTimeError);
    expect(error.field).toBe('timezone');
    expect(error.message).toBe(
      `timezone must be an IANA time zone name, got ${JSON.stringify(zone)}`,
    );
  });
});
