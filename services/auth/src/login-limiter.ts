// Brute-force protection for POST /auth/login: failed logins are counted per
// username (guessing one account's password) and per client IP (spraying many
// accounts). An attempt is counted before the password is checked, so a burst of
// parallel guesses cannot all slip in under the limit; a successful login gives its
// count back, so only failures add up and a developer who logs in often is never
// stopped. Unknown and known usernames are counted alike (no enumeration).
import type { Db } from 'mongodb';
import { consumeAll, createMongoLimiter, type WindowLimit } from './mongo-rate-limit';

export interface LoginLimiterOptions {
  perUsername: WindowLimit;
  perIp: WindowLimit;
}

export interface LoginLimiter {
  /** Counts the attempt; throws RateLimitedError when the username or the IP is over its limit. */
  begin(username: string, ip: string): Promise<void>;
  /** The attempt succeeded: forgive it, and the username's earlier failures. */
  succeeded(username: string, ip: string): Promise<void>;
}

export function createLoginLimiter(db: Db, options: LoginLimiterOptions): LoginLimiter {
  const byUsername = createMongoLimiter(db, 'login_fail_user', options.perUsername);
  const byIp = createMongoLimiter(db, 'login_fail_ip', options.perIp);
  return {
    begin: (username, ip) =>
      consumeAll([
        [byUsername, username],
        [byIp, ip],
      ]),
    async succeeded(username, ip) {
      await Promise.all([byUsername.delete(username), byIp.reward(ip, 1)]);
    },
  };
}
