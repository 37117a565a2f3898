// Brute-force protection for POST /auth/login and POST /auth/password (docs/design.md §9.1),
// built so that an attacker can slow an account down but never lock its owner out:
//
// - per (username, client address), strict: a guesser from one address gets
//   `perUsernameAndIp` failures per window, then 429;
// - per client address, strict: one address spraying many usernames gets `perIp`;
// - per username, from any address, only a slowdown: once a username has had
//   `slowdown.after` failed attempts in the window, each further attempt on it waits
//   a delay that doubles per failure up to `slowdown.maxMs`, before the password is
//   checked. The right password, from an address that has not failed, still gets in.
//
// Attempts are counted before the password check, so parallel guesses cannot slip in
// under a limit; a successful login gives its attempt back (and clears its own
// address's failures for that username), so only failures add up. Unknown and known
// usernames are counted alike (no enumeration). Counters live in MongoDB, shared by
// every instance (mongo-rate-limit.ts).
import type { Db } from 'mongodb';
import { consumeAll, createMongoLimiter, type WindowLimit } from './mongo-rate-limit';

export interface LoginSlowdown {
  /** Failed attempts on a username (any address) before its logins slow down. */
  after: number;
  /** Delay of the first slowed attempt; doubles per further failure. */
  baseMs: number;
  maxMs: number;
}

export interface LoginLimiterOptions {
  perUsernameAndIp: WindowLimit;
  perIp: WindowLimit;
  /** The window the per-username failures are counted in. */
  usernameWindowSeconds: number;
  slowdown: LoginSlowdown;
  /** Injected for tests; default setTimeout. */
  sleep?: (ms: number) => Promise<void>;
}

export interface LoginLimiter {
  /**
   * Counts the attempt; throws RateLimitedError when this address is over a limit,
   * otherwise waits the username's slowdown (if any) and resolves.
   */
  begin(username: string, ip: string): Promise<void>;
  /** The attempt succeeded: give it back, and forget this address's failures for the username. */
  succeeded(username: string, ip: string): Promise<void>;
}

/** The delay before checking a password, given the username's earlier attempts in the window. */
export function slowdownDelayMs(earlierAttempts: number, slowdown: LoginSlowdown): number {
  if (earlierAttempts < slowdown.after) return 0;
  const steps = Math.min(earlierAttempts - slowdown.after, 30);
  return Math.min(slowdown.maxMs, slowdown.baseMs * 2 ** steps);
}

const defaultSleep = (ms: number) =>
  new Promise<void>((resolve) => {
    setTimeout(resolve, ms).unref();
  });

/** One key per pair; an address holds no space, so the first space ends it. */
const pairKey = (username: string, ip: string) => `${ip} ${username}`;

export function createLoginLimiter(db: Db, options: LoginLimiterOptions): LoginLimiter {
  const byPair = createMongoLimiter(db, 'login_fail_user_ip', options.perUsernameAndIp);
  const byIp = createMongoLimiter(db, 'login_fail_ip', options.perIp);
  // never refuses: its count only sets the slowdown (points is a ceiling no one reaches)
  const byUsername = createMongoLimiter(db, 'login_fail_user', {
    points: Number.MAX_SAFE_INTEGER,
    windowSeconds: options.usernameWindowSeconds,
  });
  const sleep = options.sleep ?? defaultSleep;

  return {
    async begin(username, ip) {
      const [strict, counted] = await Promise.all([
        consumeAll([
          [byPair, pairKey(username, ip)],
          [byIp, ip],
        ]).then(
          () => undefined,
          (err: unknown) => err,
        ),
        byUsername.penalty(username, 1),
      ]);
      if (strict !== undefined) throw strict;
      const delayMs = slowdownDelayMs(counted.consumedPoints - 1, options.slowdown);
      if (delayMs > 0) await sleep(delayMs);
    },
    async succeeded(username, ip) {
      await Promise.all([
        byPair.delete(pairKey(username, ip)),
        byIp.reward(ip, 1),
        byUsername.reward(username, 1),
      ]);
    },
  };
}
