// The waits between retries of the REST reads that keep the app caught up (history
// pages, the conversation list): backoff with full jitter, at least the server's
// Retry-After, in sleeps that close() cuts short so no retry outlives the connection.
import { backoffDelay } from './backoff';
import { ParleyApiError } from './errors';
import type { ResolvedOptions } from './realtime-options';

export class RetrySleeps {
  readonly #opts: ResolvedOptions;
  readonly #sleeps = new Set<{ timer: ReturnType<typeof setTimeout>; wake: () => void }>();

  constructor(options: ResolvedOptions) {
    this.#opts = options;
  }

  /** Waits before retry number `attempt` (from 0) of a call that failed with `error`. */
  afterFailure(error: unknown, attempt: number): Promise<void> {
    const delay = this.#backoff(attempt);
    if (!(error instanceof ParleyApiError) || error.retryAfter === undefined) {
      return this.#sleep(delay);
    }
    return this.#sleep(Math.max(delay, Math.min(error.retryAfter * 1000, this.#opts.maxMs)));
  }

  /** Waits before round number `round` (from 0) of a call that succeeded but brought nothing new. */
  afterEmptyRound(round: number): Promise<void> {
    return this.#sleep(this.#backoff(round));
  }

  /** Ends every sleep now (the connection closed; the sleepers see that and stop). */
  wakeAll(): void {
    for (const sleep of this.#sleeps) {
      clearTimeout(sleep.timer);
      sleep.wake();
    }
    this.#sleeps.clear();
  }

  #backoff(attempt: number): number {
    return backoffDelay(attempt, {
      baseMs: Math.min(this.#opts.baseMs, 1000),
      maxMs: this.#opts.maxMs,
      random: this.#opts.random,
    });
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const entry = {
        timer: setTimeout(() => {
          this.#sleeps.delete(entry);
          resolve();
        }, ms),
        wake: resolve,
      };
      this.#sleeps.add(entry);
    });
  }
}
