/**
 * When this worker next runs the rate-limited claim (CLAIM_RATED) for each rate-limited
 * category. The buckets themselves live in PostgreSQL (shared by every replica); this only
 * avoids asking when the answer is known to be "nothing":
 * - a category whose claim was bound by its tokens is asked again when the next whole token is
 *   due (1 − tokens left) / perSecond from now;
 * - one whose claim was bound by the room on this worker is asked again at the next tick;
 * - one whose claim found fewer due tasks than it could take has no backlog: it is asked again
 *   on a tick (a NOTIFY, its next due time, a finished delivery…) at least IDLE_RETRY_MS after
 *   the last time, and the loop sleeps no longer than that once such a tick came too early.
 * Times are monotonic milliseconds (performance.now()).
 */
export const IDLE_RETRY_MS = 50;
/** Fastest re-ask of a bucket that ran dry (a burst of 1 at a high rate is served per ms). */
export const MIN_RETRY_MS = 1;

interface Entry {
  perSecond: number;
  /** When to ask next; Infinity: only when a tick comes (no backlog known). */
  nextAt: number;
  lastTry: number;
  idle: boolean;
}

export interface RateOutcome {
  cate: string;
  claimed: number;
  /** What the tokens and the room allowed (CLAIM_RATED's `allowed`). */
  allowed: number;
  /** The room this worker offered for the category. */
  room: number;
  tokensLeft: number;
  perSecond: number;
}

export class RateSchedule {
  private readonly entries = new Map<string, Entry>();

  get size(): number {
    return this.entries.size;
  }

  /**
   * The rate-limited categories as last read (cate → perSecond); new ones are due at once.
   * True when one was added.
   */
  setCategories(rated: Map<string, number>): boolean {
    let added = false;
    for (const cate of this.entries.keys()) if (!rated.has(cate)) this.entries.delete(cate);
    for (const [cate, perSecond] of rated) {
      const entry = this.entries.get(cate);
      if (entry) {
        entry.perSecond = perSecond;
      } else {
        this.entries.set(cate, { perSecond, nextAt: 0, lastTry: -Infinity, idle: false });
        added = true;
      }
    }
    return added;
  }

  /** Categories to claim for now (a tick is under way at `now`). */
  dueAt(now: number): string[] {
    const due: string[] = [];
    for (const [cate, entry] of this.entries) {
      if (entry.idle) {
        if (now - entry.lastTry >= IDLE_RETRY_MS) due.push(cate);
        else entry.nextAt = entry.lastTry + IDLE_RETRY_MS; // this tick came early: wake for it
      } else if (entry.nextAt <= now) {
        due.push(cate);
      }
    }
    return due;
  }

  /** What a claim for `cate` found; `undefined` outcome: the bucket was not read (held). */
  record(cate: string, outcome: RateOutcome | undefined, now: number): void {
    const entry = this.entries.get(cate);
    if (!entry) return;
    entry.lastTry = now;
    if (!outcome || outcome.claimed < outcome.allowed) {
      entry.idle = true;
      entry.nextAt = Infinity;
      return;
    }
    entry.idle = false;
    entry.perSecond = outcome.perSecond;
    if (outcome.allowed >= outcome.room && outcome.tokensLeft >= 1) {
      entry.nextAt = now; // bound by the room: more may be due and tokens are there
    } else {
      // Until a whole token is there (a probe may have left the bucket in debt).
      const waitMs = (Math.max(0, 1 - outcome.tokensLeft) / outcome.perSecond) * 1000;
      entry.nextAt = now + Math.max(MIN_RETRY_MS, waitMs);
    }
  }

  /**
   * No room for `cate` on this worker now (at its cap, or no free slot): asked again at the next
   * tick (a finished delivery of it wakes the loop), without making the loop wait for it.
   */
  blocked(cate: string): void {
    const entry = this.entries.get(cate);
    if (!entry) return;
    entry.idle = true;
    entry.lastTry = -Infinity;
    entry.nextAt = Infinity;
  }

  /** The earliest time a category should be claimed for (Infinity when none is waiting). */
  nextAt(): number {
    let next = Infinity;
    for (const entry of this.entries.values()) next = Math.min(next, entry.nextAt);
    return next;
  }
}
