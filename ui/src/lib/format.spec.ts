import {
  formatAge,
  formatCount,
  formatMs,
  formatRateLimit,
  formatUtc,
  utcInputToUnix,
} from './format';

describe('format', () => {
  it('formats UTC times, with milliseconds only when present', () => {
    expect(formatUtc(new Date(Date.UTC(2026, 10, 26, 17, 13, 9)))).toBe('2026-11-26 17:13:09 UTC');
    expect(formatUtc(new Date(1795800000250))).toBe('2026-11-27 17:20:00.250 UTC');
    expect(formatUtc(new Date(NaN))).toBe('—');
  });

  it('formats ages', () => {
    expect(formatAge(null)).toBe('—');
    expect(formatAge(0.4)).toBe('0 s');
    expect(formatAge(59)).toBe('59 s');
    expect(formatAge(185)).toBe('3 min 5 s');
    expect(formatAge(7440)).toBe('2 h 4 min');
    expect(formatAge(3 * 86400 + 7200)).toBe('3 d 2 h');
  });

  it('groups thousands and formats durations and rate limits', () => {
    expect(formatCount(1234567)).toBe('1,234,567');
    expect(formatCount(0.5)).toBe('0.5');
    expect(formatCount(undefined)).toBe('—');
    expect(formatMs(37)).toBe('37 ms');
    expect(formatMs(2500)).toBe('2.50 s');
    expect(formatRateLimit(null)).toBe('none');
    expect(formatRateLimit({ perSecond: 50, burst: 50 })).toBe('50/s, burst 50');
  });

  it('reads datetime-local values as UTC', () => {
    expect(utcInputToUnix('2026-11-30T09:00')).toBe(1796029200);
    expect(utcInputToUnix('2026-11-30T09:00:30')).toBe(1796029230);
    expect(utcInputToUnix('')).toBeNull();
    expect(utcInputToUnix('yesterday')).toBeNull();
  });
});
