import { CIRCUIT_DEFAULTS } from '../../common/circuit-defaults';
import { AttemptOutcome } from '../tasks/tasks.types';

export type CircuitState = 'closed' | 'open' | 'half_open';

/** A category's circuit as locked for an update (LOCK_CIRCUITS). */
export interface CircuitRow {
  cate: string;
  circuit_enabled: boolean;
  circuit_threshold: number | null;
  circuit_cooldown_ms: number | null;
  circuit_state: CircuitState;
  circuit_failures: number;
  circuit_open_ms: number | null;
}

/** What one outcome batch says of a category, in the order the attempts finished. */
export interface CircuitTally {
  cate: string;
  /** An attempt of the batch succeeded. */
  succeeded: boolean;
  /** Counted failures after the batch's last success (all of them when none succeeded). */
  trailingFailures: number;
}

/** A transition to write (UPDATE_CIRCUITS) and to report. */
export interface CircuitChange {
  cate: string;
  from: CircuitState;
  state: CircuitState;
  failures: number;
  /** The open period now starting; null: unchanged (or closed). */
  openMs: number | null;
  /** The circuit (re)opened now: a new open period starts. */
  opened: boolean;
}

/**
 * Which attempt outcomes a breaker counts: the receiver is down or overloaded (timeout,
 * connection error, 5xx, 429). A refused address, a missing handler, another 4xx or an answer
 * the receiver chose (410, 425) says nothing about its health and leaves the count alone.
 */
export function circuitVerdict(
  outcome: AttemptOutcome,
  statusCode: number | null,
): 'success' | 'failure' | 'neutral' {
  switch (outcome) {
    case 'success':
      return 'success';
    case 'timeout':
    case 'connection_error':
    case 'http_5xx':
      return 'failure';
    case 'http_4xx':
      return statusCode === 429 ? 'failure' : 'neutral';
    case 'http_other':
    case 'blocked':
    case 'no_handler':
    case 'error':
    case 'lease_expired':
    case 'gone':
    case 'snoozed':
      return 'neutral';
  }
}

/**
 * The circuit after a batch. The last counted outcome decides: a success closes the circuit
 * (whatever its state: the receiver answered); failures add to the consecutive count, which
 * opens a closed circuit at the threshold; a failed probe (half-open) re-opens it with the
 * period doubled, capped at 10 minutes; failures of calls still in flight when it opened keep
 * it open as it is. Undefined: nothing changes.
 */
export function nextCircuit(row: CircuitRow, tally: CircuitTally): CircuitChange | undefined {
  const from = row.circuit_state;
  const failures = tally.succeeded
    ? tally.trailingFailures
    : row.circuit_failures + tally.trailingFailures;
  let change: CircuitChange;
  if (!row.circuit_enabled || tally.trailingFailures === 0) {
    change = {
      cate: row.cate,
      from,
      state: 'closed',
      failures: row.circuit_enabled ? failures : 0,
      openMs: null,
      opened: false,
    };
  } else if (from === 'half_open') {
    const cooldown = row.circuit_cooldown_ms ?? CIRCUIT_DEFAULTS.cooldownMs;
    const openMs = Math.min((row.circuit_open_ms ?? cooldown) * 2, CIRCUIT_DEFAULTS.maxOpenMs);
    change = { cate: row.cate, from, state: 'open', failures, openMs, opened: true };
  } else if (from === 'open') {
    change = { cate: row.cate, from, state: 'open', failures, openMs: null, opened: false };
  } else if (failures >= (row.circuit_threshold ?? CIRCUIT_DEFAULTS.failureThreshold)) {
    const openMs = row.circuit_cooldown_ms ?? CIRCUIT_DEFAULTS.cooldownMs;
    change = { cate: row.cate, from, state: 'open', failures, openMs, opened: true };
  } else {
    change = { cate: row.cate, from, state: 'closed', failures, openMs: null, opened: false };
  }
  const same = change.state === from && change.failures === row.circuit_failures && !change.opened;
  return same ? undefined : change;
}

/** Folds a batch's attempts, in order, into one tally per category that had a counted outcome. */
export function tallyCircuits(
  attempts: Array<{ cate: string; outcome: AttemptOutcome; statusCode: number | null }>,
): CircuitTally[] {
  const tallies = new Map<string, CircuitTally>();
  for (const attempt of attempts) {
    const verdict = circuitVerdict(attempt.outcome, attempt.statusCode);
    if (verdict === 'neutral') continue;
    let tally = tallies.get(attempt.cate);
    if (!tally) {
      tally = { cate: attempt.cate, succeeded: false, trailingFailures: 0 };
      tallies.set(attempt.cate, tally);
    }
    if (verdict === 'success') {
      tally.succeeded = true;
      tally.trailingFailures = 0;
    } else {
      tally.trailingFailures += 1;
    }
  }
  return [...tallies.values()];
}
