// Fixed-window counters shared by every auth instance, kept in MongoDB by
// rate-limiter-flexible's RateLimiterMongo (one `rate_limits` collection, one
// document per key and window, bumped with an atomic findOneAndUpdate $inc upsert).
// Checked against FerretDB v1 as well as MongoDB: it works once the unique index on
// `key` exists; its TTL index is optional (FerretDB has none) because every read
// filters on `expire`. Indexes are created here rather than by the library, which
// would create them at construction time and report failures on console.error.
import { RateLimitedError } from '@parley/server-kit';
import type { Db } from 'mongodb';
import { RateLimiterMongo, RateLimiterRes } from 'rate-limiter-flexible';
import { createTtlIndexIfSupported } from './ttl-index';

export const RATE_LIMITS_COLLECTION = 'rate_limits';

export interface WindowLimit {
  /** Attempts allowed per window. */
  points: number;
  windowSeconds: number;
}

export function createMongoLimiter(
  db: Db,
  keyPrefix: string,
  limit: WindowLimit,
): RateLimiterMongo {
  return new RateLimiterMongo({
    storeClient: db,
    tableName: RATE_LIMITS_COLLECTION,
    keyPrefix,
    points: limit.points,
    duration: limit.windowSeconds,
    disableIndexesCreation: true,
  });
}

export async function ensureRateLimitIndexes(db: Db): Promise<void> {
  const collection = db.collection(RATE_LIMITS_COLLECTION);
  await collection.createIndex({ key: 1 }, { unique: true, name: 'key_unique' });
  await createTtlIndexIfSupported(collection, 'expire');
}

/**
 * Counts one attempt against every (limiter, key) pair. When any is over its limit,
 * throws RateLimitedError with the longest wait; a store failure is rethrown as is
 * (the error middleware answers 503 for a MongoDB outage).
 */
export async function consumeAll(
  entries: ReadonlyArray<[RateLimiterMongo, string]>,
): Promise<void> {
  const results = await Promise.allSettled(entries.map(([limiter, key]) => limiter.consume(key)));
  let waitMs = -1;
  for (const result of results) {
    if (result.status === 'fulfilled') continue;
    if (!(result.reason instanceof RateLimiterRes)) throw result.reason;
    waitMs = Math.max(waitMs, result.reason.msBeforeNext);
  }
  if (waitMs >= 0) throw new RateLimitedError(waitMs / 1000);
}
