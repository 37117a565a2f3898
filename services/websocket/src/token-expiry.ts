// Closes each socket when its access token expires (4001), with one timer per
// instance instead of one per socket: sessions sit in buckets by expiry second, and a
// sweep once a second closes those whose second has passed. A socket outlives its
// token by at most a second; an idle socket costs a Set entry, not a Timeout.
import type { SocketSession } from './socket-session';

export interface TokenExpiry {
  /** (Re-)files the session under its current tokenExp; the sweep runs from the first. */
  arm(session: SocketSession): void;
  disarm(session: SocketSession): void;
  /** Stops the sweep (at shutdown). */
  stop(): void;
}

export interface TokenExpiryOptions {
  now: () => number;
  onExpired(session: SocketSession): void;
  /** Default 1,000 ms: the bucket width, and how late a close may be. */
  sweepMs?: number;
}

export function createTokenExpiry(options: TokenExpiryOptions): TokenExpiry {
  const buckets = new Map<number, Set<SocketSession>>();
  let timer: NodeJS.Timeout | undefined;

  function disarm(session: SocketSession): void {
    const second = session.expiryBucket;
    if (second === undefined) return;
    session.expiryBucket = undefined;
    const bucket = buckets.get(second);
    if (!bucket) return;
    bucket.delete(session);
    if (bucket.size === 0) buckets.delete(second);
  }

  function sweep(): void {
    const nowSeconds = options.now() / 1000;
    for (const [second, sessions] of buckets) {
      if (second > nowSeconds) continue;
      buckets.delete(second);
      for (const session of sessions) {
        session.expiryBucket = undefined;
        options.onExpired(session);
      }
    }
  }

  return {
    arm(session) {
      disarm(session);
      const second = Math.ceil(session.tokenExp);
      let bucket = buckets.get(second);
      if (!bucket) buckets.set(second, (bucket = new Set()));
      bucket.add(session);
      session.expiryBucket = second;
      if (!timer) {
        timer = setInterval(sweep, options.sweepMs ?? 1_000);
        timer.unref();
      }
    },
    disarm,
    stop() {
      clearInterval(timer);
      timer = undefined;
    },
  };
}
