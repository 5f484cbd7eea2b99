/**
 * Group commit: work items submitted while earlier groups are being written are written together,
 * as one group, by one call of `flush`. Nothing waits for a timer: a group starts on the event
 * loop turn after its first item (so the items of that turn join it), or as soon as a group in
 * flight finishes, taking everything that arrived meanwhile. At most `maxInFlight` groups are
 * written at once and a group holds at most `maxItems`; the rest wait for the next.
 *
 * `flush` answers one settled result per item, in order: each caller gets its own value or its
 * own error. A `flush` that throws fails every item of its group with that error.
 */
export class GroupCommit<I, R> {
  private queue: Array<{ item: I; resolve: (value: R) => void; reject: (error: unknown) => void }> =
    [];
  private inFlight = 0;
  private scheduled = false;

  constructor(
    private readonly flush: (items: I[]) => Promise<PromiseSettledResult<R>[]>,
    private readonly maxItems: number,
    private readonly maxInFlight: number,
  ) {}

  submit(item: I): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled || this.inFlight >= this.maxInFlight || this.queue.length === 0) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.start();
    });
  }

  private start(): void {
    while (this.inFlight < this.maxInFlight && this.queue.length > 0) {
      const group = this.queue.splice(0, this.maxItems);
      this.inFlight += 1;
      void this.write(group);
    }
  }

  private async write(group: GroupCommit<I, R>['queue']): Promise<void> {
    try {
      const results = await this.flush(group.map((entry) => entry.item));
      group.forEach((entry, index) => {
        const result = results[index];
        if (result === undefined) entry.reject(new Error('group commit: no result for an item'));
        else if (result.status === 'fulfilled') entry.resolve(result.value);
        else entry.reject(result.reason);
      });
    } catch (error) {
      for (const entry of group) entry.reject(error);
    } finally {
      this.inFlight -= 1;
      // What arrived while this group was written goes now, not a turn later.
      if (this.queue.length > 0) this.start();
    }
  }
}
