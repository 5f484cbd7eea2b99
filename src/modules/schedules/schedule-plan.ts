import { MissedPolicy } from './schedules.dto';
import {
  countOccurrencesBetween,
  nextOccurrences,
  occurrencesBetween,
  occurrencesThrough,
  ParsedSchedule,
} from './schedule-occurrences';

/** `all` fires at most this many missed occurrences (the latest of them). */
export const MAX_MISSED_FIRED = 1000;
/** Missed occurrences are counted (for the skipped metric) up to this many per catch-up. */
export const MAX_MISSED_COUNTED = 10_000;
/**
 * More occurrences than any look-ahead can hold at the shortest period (1 s): the search for
 * the occurrences ahead stops there.
 */
const MAX_AHEAD = 128;

export interface PlanSettings {
  /** Occurrences up to this far ahead of now are created now (ordinary tasks, due then). */
  lookaheadMs: number;
  /**
   * An occurrence more than this far in the past when it is created counts as missed (all
   * replicas were down, or the schedule paused): the missed policy decides what fires of it.
   * Later ones are late, not missed, and fire as they are.
   */
  missedAfterMs: number;
}

/** What to do for one schedule at one look of the materializer. */
export interface OccurrencePlan {
  /** Occurrence instants to create now (epoch ms), increasing. */
  fire: number[];
  /** Missed occurrences the policy does not fire (counted up to MAX_MISSED_COUNTED). */
  skipped: number;
  /** The first occurrence not created (epoch ms); null: none left (endAt passed). */
  nextMs: number | null;
}

/**
 * The occurrences from `nextMs` (the first not yet created, itself an occurrence) up to `nowMs`
 * + look-ahead: those missed by more than missedAfterMs as the policy says, the rest all.
 */
export function planOccurrences(
  schedule: ParsedSchedule,
  policy: MissedPolicy,
  nextMs: number,
  nowMs: number,
  settings: PlanSettings,
): OccurrencePlan {
  const cutoffMs = nowMs - settings.missedAfterMs;
  const horizonMs = nowMs + settings.lookaheadMs;
  let fire: number[] = [];
  let skipped = 0;
  let aheadAfterMs = nextMs - 1;
  if (nextMs < cutoffMs) {
    // Missed: the occurrences in [nextMs, cutoffMs).
    const from = new Date(nextMs - 1);
    const to = new Date(cutoffMs - 1);
    const limit = policy === 'all' ? MAX_MISSED_FIRED : policy === 'once' ? 1 : 0;
    fire = occurrencesBetween(schedule, from, to, limit).map((date) => date.getTime());
    const missed = countOccurrencesBetween(schedule, from, to, MAX_MISSED_COUNTED);
    skipped = Math.max(0, missed - fire.length);
    aheadAfterMs = cutoffMs - 1;
  }
  // Beyond MAX_AHEAD (not reached at 1 s with a short look-ahead) the next look goes on.
  const ahead = occurrencesThrough(
    schedule,
    new Date(aheadAfterMs),
    new Date(horizonMs),
    MAX_AHEAD,
  );
  for (const date of ahead.within) fire.push(date.getTime());
  const newNextMs = ahead.next === null ? null : ahead.next.getTime();
  return { fire, skipped, nextMs: newNextMs };
}

/** The first occurrence strictly after `afterMs` (epoch ms); null when there is none. */
export function firstOccurrenceAfter(schedule: ParsedSchedule, afterMs: number): number | null {
  return nextOccurrences(schedule, new Date(afterMs), 1)[0]?.getTime() ?? null;
}
