import { Injectable } from '@nestjs/common';

/**
 * In-process news that a transaction of this process committed category events to the outbox
 * (a failure, a circuit change, a resume): the events dispatcher listens, so that they go out at
 * once rather than at its next poll. Events written by other replicas wait for that poll.
 */
@Injectable()
export class EventsWrittenSignal {
  private readonly listeners = new Set<() => void>();

  /** Call after the commit of a transaction that wrote `count` events. */
  written(count: number): void {
    if (count <= 0) return;
    for (const listener of this.listeners) listener();
  }

  /** Registers `listener`; returns the function that removes it. */
  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
