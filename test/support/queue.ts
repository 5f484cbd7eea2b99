import { QueueRepository } from '../../src/modules/dispatch/queue.repository';
import { ClaimRef, FailureUpdate } from '../../src/modules/dispatch/queue.types';

/**
 * Single-purpose writes of the queue for tests, each one QueueRepository.recordOutcomes call (the
 * production path) with one part filled; they answer the rows that part changed.
 */
export function queueWrites(queue: QueueRepository) {
  const none = { delivered: [], failures: [], released: [], snoozes: [], attempts: [], circuits: [] };
  return {
    complete: async (claims: ClaimRef[]): Promise<number> =>
      (await queue.recordOutcomes({ ...none, delivered: claims })).delivered,
    fail: async (failures: FailureUpdate[]): Promise<number> =>
      (await queue.recordOutcomes({ ...none, failures })).failures,
    release: async (claims: ClaimRef[]): Promise<number> =>
      (await queue.recordOutcomes({ ...none, released: claims })).released,
  };
}
