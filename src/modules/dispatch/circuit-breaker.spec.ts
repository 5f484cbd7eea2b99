import { CircuitRow, nextCircuit, tallyCircuits } from './circuit-breaker';

function row(overrides: Partial<CircuitRow> = {}): CircuitRow {
  return {
    cate: 'c',
    circuit_enabled: true,
    circuit_threshold: 3,
    circuit_cooldown_ms: 1000,
    circuit_state: 'closed',
    circuit_failures: 0,
    circuit_open_ms: null,
    ...overrides,
  };
}

describe('tallyCircuits', () => {
  it('counts failures after the last success, per category, ignoring neutral outcomes', () => {
    const tallies = tallyCircuits([
      { cate: 'a', outcome: 'http_5xx', statusCode: 500 },
      { cate: 'a', outcome: 'success', statusCode: 200 },
      { cate: 'a', outcome: 'timeout', statusCode: null },
      { cate: 'a', outcome: 'http_4xx', statusCode: 429 },
      { cate: 'a', outcome: 'http_4xx', statusCode: 404 },
      { cate: 'b', outcome: 'blocked', statusCode: null },
      { cate: 'c', outcome: 'connection_error', statusCode: null },
    ]);
    expect(tallies).toEqual([
      { cate: 'a', succeeded: true, trailingFailures: 2 },
      { cate: 'c', succeeded: false, trailingFailures: 1 },
    ]);
  });
});

describe('nextCircuit', () => {
  it('adds consecutive failures and opens at the threshold with the cooldown', () => {
    expect(
      nextCircuit(row({ circuit_failures: 1 }), {
        cate: 'c',
        succeeded: false,
        trailingFailures: 1,
      }),
    ).toEqual({
      cate: 'c',
      from: 'closed',
      state: 'closed',
      failures: 2,
      openMs: null,
      opened: false,
    });
    expect(
      nextCircuit(row({ circuit_failures: 2 }), {
        cate: 'c',
        succeeded: false,
        trailingFailures: 1,
      }),
    ).toEqual({
      cate: 'c',
      from: 'closed',
      state: 'open',
      failures: 3,
      openMs: 1000,
      opened: true,
    });
  });

  it('restarts the count after a success within the batch', () => {
    const change = nextCircuit(row({ circuit_failures: 2 }), {
      cate: 'c',
      succeeded: true,
      trailingFailures: 1,
    });
    expect(change).toMatchObject({ state: 'closed', failures: 1 });
  });

  it('re-opens a half-open circuit whose probe failed, doubling the period up to 10 minutes', () => {
    const half = row({ circuit_state: 'half_open', circuit_failures: 3, circuit_open_ms: 1000 });
    expect(nextCircuit(half, { cate: 'c', succeeded: false, trailingFailures: 1 })).toMatchObject({
      state: 'open',
      openMs: 2000,
      opened: true,
    });
    const long = row({ circuit_state: 'half_open', circuit_open_ms: 400_000 });
    expect(nextCircuit(long, { cate: 'c', succeeded: false, trailingFailures: 1 })?.openMs).toBe(
      600_000,
    );
  });

  it('closes on a success, from any state', () => {
    for (const state of ['open', 'half_open'] as const) {
      expect(
        nextCircuit(row({ circuit_state: state, circuit_failures: 9 }), {
          cate: 'c',
          succeeded: true,
          trailingFailures: 0,
        }),
      ).toMatchObject({
        from: state,
        state: 'closed',
        failures: 0,
      });
    }
  });

  it('keeps an open circuit as it is on failures of calls still in flight when it opened', () => {
    const open = row({ circuit_state: 'open', circuit_failures: 3, circuit_open_ms: 1000 });
    expect(nextCircuit(open, { cate: 'c', succeeded: false, trailingFailures: 2 })).toMatchObject({
      state: 'open',
      failures: 5,
      openMs: null,
      opened: false,
    });
  });

  it('never opens when turned off, and reports no change when there is none', () => {
    const off = row({ circuit_enabled: false });
    expect(nextCircuit(off, { cate: 'c', succeeded: false, trailingFailures: 50 })).toBeUndefined();
    expect(nextCircuit(row(), { cate: 'c', succeeded: true, trailingFailures: 0 })).toBeUndefined();
  });

  it('uses the defaults (20 failures, 30 s) when the category sets none', () => {
    const defaults = row({
      circuit_threshold: null,
      circuit_cooldown_ms: null,
      circuit_failures: 19,
    });
    expect(
      nextCircuit(defaults, { cate: 'c', succeeded: false, trailingFailures: 1 }),
    ).toMatchObject({
      state: 'open',
      openMs: 30_000,
    });
  });
});
