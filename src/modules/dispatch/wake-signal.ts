/**
 * An abortable sleep for the worker loop. `wake()` ends the current sleep, or, when nobody is
 * sleeping, makes the next `sleep()` return at once, so a wake-up that arrives while the loop is
 * busy querying is never lost. `reset()` forgets wake-ups the coming query will see anyway.
 */
export class WakeSignal {
  private pending = false;
  private resolveSleep: (() => void) | undefined;
  private timer: NodeJS.Timeout | undefined;

  wake(): void {
    if (this.resolveSleep) this.finishSleep();
    else this.pending = true;
  }

  reset(): void {
    this.pending = false;
  }

  sleep(ms: number): Promise<void> {
    if (this.pending) {
      this.pending = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      this.resolveSleep = resolve;
      this.timer = setTimeout(() => this.finishSleep(), Math.max(0, Math.ceil(ms)));
    });
  }

  private finishSleep(): void {
    clearTimeout(this.timer);
    const resolve = this.resolveSleep;
    this.resolveSleep = undefined;
    this.timer = undefined;
    resolve?.();
  }
}
