import { Logger } from '@nestjs/common';
import { setTimeout as sleep } from 'node:timers/promises';
import { TasksRepository } from '../tasks/tasks.repository';
import { AttemptRecord, ClaimRef, FailureUpdate } from '../tasks/tasks.types';
import { Outcome } from './retry-policy';
import { withTimeout } from './with-timeout';

export interface Completion {
  claim: ClaimRef;
  outcome: Outcome | { kind: 'release' };
  /** The attempt's history row; absent for a claim released without a result. */
  attempt?: AttemptRecord;
}

const MAX_BATCH = 500;
const RETRY_DELAY_MS = 500;

/**
 * Records delivery outcomes in batches, like a group commit: when no write is running, an outcome
 * is written at once; outcomes arriving during a write wait and go together in the next one.
 * A failed write is retried (the fence makes a late write harmless); while the database is away
 * the worker stops claiming, so this queue stays bounded.
 */
export class CompletionBatcher {
  private readonly logger = new Logger(CompletionBatcher.name);
  private queue: Completion[] = [];
  private flushing: Promise<void> | undefined;
  private closed = false;

  constructor(
    private readonly tasks: TasksRepository,
    /** The worker whose claims these are (releases are fenced by owner). */
    private readonly owner: string,
    /** Called after a write that put tasks back in the queue for a later attempt. */
    private readonly onRetriesScheduled: () => void,
  ) {}

  get size(): number {
    return this.queue.length;
  }

  add(completion: Completion): void {
    this.queue.push(completion);
    this.flushing ??= this.flush().finally(() => (this.flushing = undefined));
  }

  /** Resolves when everything queued so far is written, or when `timeoutMs` has passed. */
  async drain(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.flushing && Date.now() < deadline) {
      await withTimeout(this.flushing, Math.max(1, deadline - Date.now()));
    }
  }

  /** Stops retrying failed writes: what is left is redelivered after its lease expires. */
  close(): void {
    this.closed = true;
  }

  private async flush(): Promise<void> {
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, MAX_BATCH);
      try {
        await this.write(batch);
      } catch (error) {
        if (this.closed) {
          this.logger.warn(`dropping ${batch.length} outcomes at shutdown: ${String(error)}`);
          continue;
        }
        this.logger.warn(`recording ${batch.length} outcomes failed, retrying: ${String(error)}`);
        this.queue.unshift(...batch);
        await sleep(RETRY_DELAY_MS);
      }
    }
  }

  private async write(batch: Completion[]): Promise<void> {
    const delivered: ClaimRef[] = [];
    const failures: FailureUpdate[] = [];
    const released: ClaimRef[] = [];
    const attempts: AttemptRecord[] = [];
    for (const { claim, outcome, attempt } of batch) {
      const ref = { id: claim.id, version: claim.version, attempts: claim.attempts };
      if (attempt) attempts.push(attempt);
      switch (outcome.kind) {
        case 'ok':
          delivered.push(ref);
          break;
        case 'retry':
          failures.push({ ...ref, final: false, delayMs: outcome.delayMs, error: outcome.error });
          break;
        case 'fail':
          failures.push({ ...ref, final: true, delayMs: 0, error: outcome.error });
          break;
        case 'release':
          released.push(ref);
          break;
      }
    }
    await this.tasks.recordOutcomes({ owner: this.owner, delivered, failures, released, attempts });
    if (failures.some((f) => !f.final) || released.length > 0) this.onRetriesScheduled();
  }
}
