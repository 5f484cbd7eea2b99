import { performance } from 'node:perf_hooks';
import { WakeSignal } from './wake-signal';

/** How long `promise` takes to settle, in ms. */
async function elapsed(promise: Promise<void>): Promise<number> {
  const start = performance.now();
  await promise;
  return performance.now() - start;
}

describe('WakeSignal', () => {
  it('returns from sleep at once when woken before it', async () => {
    const signal = new WakeSignal();
    signal.wake();
    expect(await elapsed(signal.sleep(5000))).toBeLessThan(50);
  });

  it('remembers one early wake-up for one sleep only', async () => {
    const signal = new WakeSignal();
    signal.wake();
    signal.wake();
    await signal.sleep(5000);
    expect(await elapsed(signal.sleep(40))).toBeGreaterThanOrEqual(35);
  });

  it('forgets an early wake-up after reset', async () => {
    const signal = new WakeSignal();
    signal.wake();
    signal.reset();
    expect(await elapsed(signal.sleep(40))).toBeGreaterThanOrEqual(35);
  });

  it('ends a running sleep when woken', async () => {
    const signal = new WakeSignal();
    const sleeping = elapsed(signal.sleep(5000));
    setTimeout(() => signal.wake(), 20);
    expect(await sleeping).toBeLessThan(500);
  });

  it('ends a sleep on its timer when nobody wakes it', async () => {
    const signal = new WakeSignal();
    const took = await elapsed(signal.sleep(60));
    expect(took).toBeGreaterThanOrEqual(55);
    expect(took).toBeLessThan(1000);
  });

  it('does not carry a wake-up that ended a sleep over to the next sleep', async () => {
    const signal = new WakeSignal();
    const first = signal.sleep(5000);
    signal.wake();
    await first;
    expect(await elapsed(signal.sleep(40))).toBeGreaterThanOrEqual(35);
  });

  it('treats a negative or fractional duration as a short timer', async () => {
    const signal = new WakeSignal();
    expect(await elapsed(signal.sleep(-10))).toBeLessThan(100);
    expect(await elapsed(signal.sleep(0.2))).toBeLessThan(100);
  });
});
