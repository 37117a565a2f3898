// The indexes auth relies on, created at startup (idempotent; safe with several
// instances starting at once).
import type { Db } from 'mongodb';
import { ensureRateLimitIndexes } from './mongo-rate-limit';
import { createRefreshTokenStore } from './refresh-token-store';
import { ensureSessionRevocationIndexes } from './session-revocations';
import { createUserStore } from './user-store';

export async function ensureAuthIndexes(db: Db): Promise<void> {
  await createUserStore(db).ensureIndexes();
  await createRefreshTokenStore(db, { ttlSeconds: 1, familyMaxAgeSeconds: 1 }).ensureIndexes();
  await ensureSessionRevocationIndexes(db);
  await ensureRateLimitIndexes(db);
}
