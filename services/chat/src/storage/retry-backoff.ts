// Retries of optimistic writes (seq allocation, versioned updates) wait a short random
// time, growing with the attempt, so racing writers spread out instead of colliding
// again in lockstep.
import { setTimeout as sleep } from 'node:timers/promises';

export function backoffMs(attempt: number, capMs = 50): number {
  return Math.random() * Math.min(capMs, 2 ** Math.min(attempt, 10));
}

export function backoff(attempt: number, capMs?: number): Promise<void> {
  return sleep(backoffMs(attempt, capMs));
}

/** MongoDB's E11000: a unique index refused the write. */
export function isDuplicateKeyError(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === 11000;
}
