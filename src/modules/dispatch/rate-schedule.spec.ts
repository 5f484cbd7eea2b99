import { IDLE_RETRY_MS, MIN_RETRY_MS, RateOutcome, RateSchedule } from './rate-schedule';

function outcome(partial: Partial<RateOutcome>): RateOutcome {
  return { cate: 'r', claimed: 0, allowed: 0, room: 10, tokensLeft: 0, perSecond: 10, ...partial };
}

describe('RateSchedule', () => {
  it('asks for a new category at once', () => {
    const rates = new RateSchedule();
    expect(rates.setCategories(new Map([['r', 10]]))).toBe(true);
    expect(rates.setCategories(new Map([['r', 10]]))).toBe(false);
    expect(rates.dueAt(0)).toEqual(['r']);
  });

  it('asks again when the next whole token is due after the tokens bound the claim', () => {
    const rates = new RateSchedule();
    rates.setCategories(new Map([['r', 10]]));
    rates.record('r', outcome({ claimed: 3, allowed: 3, tokensLeft: 0.5 }), 1000);
    // (1 - 0.5) tokens at 10/s: 50 ms.
    expect(rates.nextAt()).toBeCloseTo(1050);
    expect(rates.dueAt(1049)).toEqual([]);
    expect(rates.dueAt(1050)).toEqual(['r']);
  });

  it('asks again at once when the room bound the claim and tokens are left', () => {
    const rates = new RateSchedule();
    rates.setCategories(new Map([['r', 1000]]));
    rates.record('r', outcome({ claimed: 10, allowed: 10, room: 10, tokensLeft: 40 }), 1000);
    expect(rates.dueAt(1000)).toEqual(['r']);
  });

  it('waits out a debt (a probe took a token the bucket did not have)', () => {
    const rates = new RateSchedule();
    rates.setCategories(new Map([['r', 10]]));
    rates.record('r', outcome({ claimed: 0, allowed: 0, tokensLeft: -1.5 }), 1000);
    // 2.5 tokens at 10/s.
    expect(rates.nextAt()).toBeCloseTo(1250);
  });

  it('never re-asks a dry bucket sooner than MIN_RETRY_MS', () => {
    const rates = new RateSchedule();
    rates.setCategories(new Map([['r', 100_000]]));
    rates.record('r', outcome({ claimed: 1, allowed: 1, tokensLeft: 0.99, perSecond: 100_000 }), 0);
    expect(rates.nextAt()).toBe(MIN_RETRY_MS);
  });

  it('does not make the loop wait for a category without backlog, but asks on a later tick', () => {
    const rates = new RateSchedule();
    rates.setCategories(new Map([['r', 10]]));
    rates.record('r', outcome({ claimed: 2, allowed: 5, tokensLeft: 3 }), 1000);
    expect(rates.nextAt()).toBe(Infinity);
    // A tick too early arms a wake-up at the end of the idle interval...
    expect(rates.dueAt(1010)).toEqual([]);
    expect(rates.nextAt()).toBe(1000 + IDLE_RETRY_MS);
    // ...and a tick after it asks.
    expect(rates.dueAt(1000 + IDLE_RETRY_MS)).toEqual(['r']);
  });

  it('treats a bucket that was not read (paused, circuit open, limit removed) as idle', () => {
    const rates = new RateSchedule();
    rates.setCategories(new Map([['r', 10]]));
    rates.record('r', undefined, 1000);
    expect(rates.nextAt()).toBe(Infinity);
  });

  it('asks a blocked category on the next tick without waking the loop for it', () => {
    const rates = new RateSchedule();
    rates.setCategories(new Map([['r', 10]]));
    rates.blocked('r');
    expect(rates.nextAt()).toBe(Infinity);
    expect(rates.dueAt(5)).toEqual(['r']);
  });

  it('forgets categories no longer rate-limited', () => {
    const rates = new RateSchedule();
    rates.setCategories(
      new Map([
        ['r', 10],
        ['s', 1],
      ]),
    );
    rates.setCategories(new Map([['s', 1]]));
    expect(rates.size).toBe(1);
    expect(rates.dueAt(0)).toEqual(['s']);
  });
});
