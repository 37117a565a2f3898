// Reconnect delays: exponential backoff with full jitter (a uniformly random delay
// between 0 and min(max, base·2^attempt)), which spreads a crowd of clients that lost
// the same server instead of having them return in lockstep.

export interface BackoffOptions {
  /** Ceiling of the first delay, in ms. */
  baseMs: number;
  /** Largest ceiling, in ms. */
  maxMs: number;
  /** A number in [0, 1); Math.random unless a test injects one. */
  random?: () => number;
}

/** Delay before retry number `attempt` (0 for the first retry). */
export function backoffDelay(attempt: number, options: BackoffOptions): number {
  const random = options.random ?? Math.random;
  const ceiling = Math.min(options.maxMs, options.baseMs * 2 ** Math.min(Math.max(attempt, 0), 30));
  return Math.floor(Math.min(Math.max(random(), 0), 1) * ceiling);
}
