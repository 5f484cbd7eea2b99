import { parseSchedule } from './schedule-occurrences';
import { MAX_MISSED_FIRED, planOccurrences, PlanSettings } from './schedule-plan';

const SETTINGS: PlanSettings = { lookaheadMs: 10_000, missedAfterMs: 2_000 };
const everySecond = parseSchedule({ cron: '* * * * * *' });
const everyMinute = parseSchedule({ cron: '* * * * *' });
const T0 = Date.UTC(2027, 0, 1, 12, 0, 0);
const s = (seconds: number) => T0 + seconds * 1000;
const range = (from: number, to: number) =>
  Array.from({ length: to - from + 1 }, (_, i) => s(from + i));

describe('planOccurrences', () => {
  it('on time: creates what falls within the look-ahead, the next one after it is kept', () => {
    const plan = planOccurrences(everySecond, 'once', s(0), s(0) - 500, SETTINGS);
    expect(plan).toEqual({ fire: range(0, 9), skipped: 0, nextMs: s(10) });
  });

  it('nothing within the look-ahead yet: creates nothing, moves nothing', () => {
    const plan = planOccurrences(everyMinute, 'once', s(60), s(0), SETTINGS);
    expect(plan).toEqual({ fire: [], skipped: 0, nextMs: s(60) });
  });

  it('late by less than missedAfterMs: fires as it is, not missed', () => {
    const plan = planOccurrences(everyMinute, 'skip', s(60), s(61.5), SETTINGS);
    expect(plan).toEqual({ fire: [s(60)], skipped: 0, nextMs: s(120) });
  });

  describe('missed (next occurrence over missedAfterMs in the past)', () => {
    // Down from 0 s to 30 s: 0..27 are missed (before 30 - 2), 28..40 are late or ahead.
    const now = s(30);

    it('skip fires none of the missed', () => {
      const plan = planOccurrences(everySecond, 'skip', s(0), now, SETTINGS);
      expect(plan.fire).toEqual(range(28, 40));
      expect(plan.skipped).toBe(28);
      expect(plan.nextMs).toBe(s(41));
    });

    it('once fires the latest missed, with its own time, then the rest', () => {
      const plan = planOccurrences(everySecond, 'once', s(0), now, SETTINGS);
      expect(plan.fire).toEqual([s(27), ...range(28, 40)]);
      expect(plan.skipped).toBe(27);
    });

    it('all fires every missed one', () => {
      const plan = planOccurrences(everySecond, 'all', s(0), now, SETTINGS);
      expect(plan.fire).toEqual(range(0, 40));
      expect(plan.skipped).toBe(0);
    });

    it(`all fires at most the latest ${MAX_MISSED_FIRED}, the older ones skipped`, () => {
      const plan = planOccurrences(everySecond, 'all', s(0), s(1500), SETTINGS);
      const missed = plan.fire.filter((ms) => ms < s(1498));
      expect(missed).toHaveLength(MAX_MISSED_FIRED);
      expect(missed[0]).toBe(s(498));
      expect(plan.skipped).toBe(498);
    });

    it('a daily schedule down for a week: once fires one, the latest', () => {
      const daily = parseSchedule({ cron: '0 9 * * *', timezone: 'Europe/Berlin' });
      const firstMs = Date.UTC(2027, 0, 1, 8); // 09:00 CET
      const plan = planOccurrences(daily, 'once', firstMs, Date.UTC(2027, 0, 8, 12), SETTINGS);
      expect(plan.fire).toEqual([Date.UTC(2027, 0, 8, 8)]);
      expect(plan.skipped).toBe(7);
      expect(plan.nextMs).toBe(Date.UTC(2027, 0, 9, 8));
    });
  });

  it('stops at endAt: nothing after it, no next occurrence', () => {
    const bounded = parseSchedule({ cron: '* * * * * *', endAt: T0 / 1000 + 3 });
    expect(planOccurrences(bounded, 'once', s(0), s(0), SETTINGS)).toEqual({
      fire: range(0, 3),
      skipped: 0,
      nextMs: null,
    });
  });

  it('across the spring-forward gap: 02:30 Berlin fires once, at 03:30 CEST', () => {
    const daily = parseSchedule({ cron: '30 2 * * *', timezone: 'Europe/Berlin' });
    const gapDay = Date.UTC(2027, 2, 28, 1, 30); // 03:30 CEST
    const plan = planOccurrences(daily, 'once', gapDay, gapDay - 5000, SETTINGS);
    expect(plan.fire).toEqual([gapDay]);
    expect(plan.nextMs).toBe(Date.UTC(2027, 2, 29, 0, 30));
  });
});
