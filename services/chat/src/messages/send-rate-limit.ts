// How many messages one user may send per window (POST /chat/send, and so the
// websocket `send` frames forwarded to it): 429 rate_limited with Retry-After past it.
// Counted in this instance's memory: a user spread over N chat instances may send N×
// as much, which still stops what the limit is for — a runaway client or a spam script
// flooding a conversation — without a database write per message (the Mongo-backed
// store auth uses for logins would add one to every send).
import { RateLimitedError } from '@parley/server-kit';
import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';

export interface SendRateLimitOptions {
  /** Messages per window; 0 turns the limit off. */
  points: number;
  windowMs: number;
}

export const DEFAULT_SEND_RATE_LIMIT: SendRateLimitOptions = { points: 60, windowMs: 10_000 };

export interface SendRateLimit {
  /** Counts one send by `userId`; throws RateLimitedError past the limit. */
  consume(userId: string): Promise<void>;
  /** Gives back the send counted for a request that turned out to repeat a stored one. */
  refund(userId: string): void;
}

export function createSendRateLimit(options: SendRateLimitOptions): SendRateLimit {
  if (options.points <= 0) return { consume: () => Promise.resolve(), refund: () => undefined };
  const limiter = new RateLimiterMemory({
    points: options.points,
    duration: Math.max(1, Math.ceil(options.windowMs / 1000)),
  });
  return {
    async consume(userId) {
      try {
        await limiter.consume(userId);
      } catch (err) {
        if (err instanceof RateLimiterRes) {
          throw new RateLimitedError(err.msBeforeNext / 1000, 'Too many messages, slow down');
        }
        throw err;
      }
    },
    refund(userId) {
      void limiter.reward(userId, 1).catch(() => undefined); // in memory: cannot fail
    },
  };
}
