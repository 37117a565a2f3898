// Registrations per client IP (default 100 an hour: enough for a developer or a test
// suite behind one address, not for a script creating accounts in bulk). Every
// attempt with a valid body counts, taken or not.
import type { Db } from 'mongodb';
import { consumeAll, createMongoLimiter, type WindowLimit } from './mongo-rate-limit';

export interface RegistrationLimiter {
  /** Throws RateLimitedError when the IP is over its limit. */
  attempt(ip: string): Promise<void>;
}

export function createRegistrationLimiter(db: Db, perIp: WindowLimit): RegistrationLimiter {
  const byIp = createMongoLimiter(db, 'register_ip', perIp);
  return { attempt: (ip) => consumeAll([[byIp, ip]]) };
}
