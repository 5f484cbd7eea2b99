import { ClaimedTask } from './queue.types';

/**
 * Per-category concurrency caps of one worker (handlers.concurrency, per replica). The worker
 * counts its in-flight deliveries per category; categories at their cap are left out of the
 * next claim, and tasks claimed beyond a cap in one batch go straight back to the queue. The cap
 * is learned from claimed rows, so a changed setting applies from the next claim on.
 */
export class CategoryLimits {
  private readonly inFlight = new Map<string, number>();
  private readonly caps = new Map<string, number>();
  /** Categories left out of the last claim: a finished delivery of one of them is a reason to claim. */
  private skipped = new Set<string>();

  /** Categories to leave out of the next claim (and remembered as such). */
  atCap(): string[] {
    const full: string[] = [];
    for (const [cate, cap] of this.caps) {
      if ((this.inFlight.get(cate) ?? 0) >= cap) full.push(cate);
    }
    this.skipped = new Set(full);
    return full;
  }

  /**
   * Splits a claimed batch into tasks to start now (counted as in flight) and tasks over their
   * category's cap, to release.
   */
  admit(claimed: ClaimedTask[]): { start: ClaimedTask[]; overCap: ClaimedTask[] } {
    const start: ClaimedTask[] = [];
    const overCap: ClaimedTask[] = [];
    for (const task of claimed) {
      this.learnCap(task);
      const cap = this.caps.get(task.cate) ?? Infinity;
      const running = this.inFlight.get(task.cate) ?? 0;
      if (running >= cap) {
        overCap.push(task);
      } else {
        this.inFlight.set(task.cate, running + 1);
        start.push(task);
      }
    }
    return { start, overCap };
  }

  /** How many more deliveries of `cate` this worker may start (Infinity: no cap). */
  room(cate: string): number {
    const cap = this.caps.get(cate);
    return cap === undefined ? Infinity : Math.max(0, cap - (this.inFlight.get(cate) ?? 0));
  }

  /** A delivery admitted earlier ended; true when its category had been left out of a claim. */
  finished(cate: string): boolean {
    const running = (this.inFlight.get(cate) ?? 1) - 1;
    if (running > 0) this.inFlight.set(cate, running);
    else this.inFlight.delete(cate);
    return this.skipped.has(cate);
  }

  private learnCap(task: ClaimedTask): void {
    if (task.concurrency == null) this.caps.delete(task.cate);
    else this.caps.set(task.cate, task.concurrency);
  }
}
