import { Logger } from '@nestjs/common';
import { setTimeout as sleep } from 'node:timers/promises';
import { AttemptRecord } from '../tasks/tasks.types';
import { QueueRepository } from './queue.repository';
import { CircuitChange, CircuitTally, tallyCircuits } from './circuit-breaker';
import { ClaimRef, FailureUpdate, SnoozeUpdate } from './queue.types';
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
/** What an attempt's error becomes when the database refused to store the real one. */
const UNRECORDABLE_ERROR = 'the attempt failed; its error text could not be stored';

/**
 * Records delivery outcomes in batches, like a group commit: when no write is running, an outcome
 * is written at once; outcomes arriving during a write wait and go together in the next one.
 * A write that fails because the database is away is retried (the fence makes a late write
 * harmless); while it is away the worker stops claiming, so this queue stays bounded. A write the
 * database refuses for its data (an error text it cannot store, say) is never retried as is: the
 * batch is split until the outcome at fault is alone, which is then written without its error
 * text and history row, or dropped (its lease expires and it is delivered again). One bad outcome
 * must not hold back the others, nor stall the worker.
 */
export class CompletionBatcher {
  private readonly logger = new Logger(CompletionBatcher.name);
  private queue: Completion[] = [];
  /** Batches to write before the queue: retries and halves of a refused batch, in order. */
  private parts: Completion[][] = [];
  /** Outcomes already reduced to their bare minimum after the database refused them. */
  private readonly bare = new WeakSet<Completion>();
  private flushing: Promise<void> | undefined;
  private closed = false;

  constructor(
    private readonly repository: Pick<QueueRepository, 'recordOutcomes'>,
    /** Called after a write that put tasks back in the queue for a later attempt. */
    private readonly onRetriesScheduled: () => void,
    /** Called for each circuit transition a write made. */
    private readonly onCircuitChange: (change: CircuitChange) => void = () => undefined,
    /**
     * Whether a batch's tally of a category may change its circuit row; the others are not
     * written (one statement less per batch in the common case: all delivered, no failures).
     */
    private readonly circuitMayChange: (tally: CircuitTally) => boolean = () => true,
  ) {}

  get size(): number {
    return this.queue.length + this.parts.reduce((sum, part) => sum + part.length, 0);
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
    while (this.parts.length > 0 || this.queue.length > 0) {
      const batch = this.parts.shift() ?? this.queue.splice(0, MAX_BATCH);
      try {
        await this.write(batch);
      } catch (error) {
        if (isRefusedData(error)) {
          this.isolate(batch, error);
          continue;
        }
        if (this.closed) {
          this.logger.warn(`dropping ${batch.length} outcomes at shutdown: ${String(error)}`);
          continue;
        }
        this.logger.warn(`recording ${batch.length} outcomes failed, retrying: ${String(error)}`);
        this.parts.unshift(batch);
        await sleep(RETRY_DELAY_MS);
      }
    }
  }

  /** The database refused `batch` for its data: find the outcome at fault by halving. */
  private isolate(batch: Completion[], error: unknown): void {
    if (batch.length > 1) {
      const half = Math.ceil(batch.length / 2);
      this.parts.unshift(batch.slice(0, half), batch.slice(half));
      return;
    }
    const [completion] = batch;
    const task = `task ${completion.claim.id} (claim ${completion.claim.claim_token})`;
    if (this.bare.has(completion)) {
      this.logger.error(
        `dropping the outcome of ${task}, refused by the database: ${String(error)}`,
      );
      return;
    }
    this.logger.warn(`recording ${task} without its error text and history: ${String(error)}`);
    const { outcome } = completion;
    const reduced: Completion = {
      claim: completion.claim,
      outcome: 'error' in outcome ? { ...outcome, error: UNRECORDABLE_ERROR } : outcome,
    };
    this.bare.add(reduced);
    this.parts.unshift([reduced]);
  }

  private async write(batch: Completion[]): Promise<void> {
    const delivered: ClaimRef[] = [];
    const failures: FailureUpdate[] = [];
    const released: ClaimRef[] = [];
    const snoozes: SnoozeUpdate[] = [];
    const attempts: AttemptRecord[] = [];
    for (const { claim, outcome, attempt } of batch) {
      const ref: ClaimRef = { id: claim.id, claim_token: claim.claim_token };
      if (attempt) attempts.push({ ...attempt, error: attempt.error && storable(attempt.error) });
      switch (outcome.kind) {
        case 'ok':
          delivered.push(ref);
          break;
        case 'retry':
          failures.push({
            ...ref,
            final: false,
            delayMs: outcome.delayMs,
            error: storable(outcome.error),
          });
          break;
        case 'fail':
          failures.push({ ...ref, final: true, delayMs: 0, error: storable(outcome.error) });
          break;
        case 'release':
          released.push(ref);
          break;
        case 'snooze':
          snoozes.push({ ...ref, delayMs: outcome.delayMs });
          break;
      }
    }
    const circuits = tallyCircuits(attempts).filter(this.circuitMayChange);
    const counts = await this.repository.recordOutcomes({
      delivered,
      failures,
      released,
      snoozes,
      attempts,
      circuits,
    });
    for (const change of counts.circuitChanges) this.onCircuitChange(change);
    if (failures.some((f) => !f.final) || released.length > 0 || snoozes.length > 0) {
      this.onRetriesScheduled();
    }
  }
}

/**
 * Text PostgreSQL can store: a `text` value cannot hold NUL, which a handler's response body
 * (quoted in error messages) may well contain.
 */
function storable(text: string): string {
  return text.includes('\u0000') ? text.replaceAll('\u0000', '\uFFFD') : text;
}

/**
 * The database refused the statement for the data in it (SQLSTATE class 22, data exception, or
 * 23, integrity constraint violation): writing it again cannot succeed, unlike after a connection
 * error, a restart (57) or a deadlock (40).
 */
function isRefusedData(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^2[23]/.test(code);
}
