// Refresh tokens: 256 random bits handed to the client once, stored only as their
// SHA-256 (a leaked collection cannot be replayed; a fast hash is enough for a
// random secret of that size). Tokens issued from one login form a family; each
// refresh rotates the token, and the claim is one conditional findOneAndUpdate, so
// of two concurrent refreshes with the same token exactly one wins (MongoDB and
// FerretDB both apply a single-document update atomically). A family has an absolute
// end (`familyExpiresAt`, set at login, copied by every rotation): no token of it
// expires later, so rotating forever never extends a login (docs/design.md §9.3). No TTL
// index is needed: expiry is part of every query, and a TTL index (where the server
// has one) only clears old documents.
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { Collection, Db, ObjectId } from 'mongodb';
import { createTtlIndexIfSupported } from './ttl-index';

export interface RefreshTokenRecord {
  _id: string; // the SHA-256 of the token, base64url
  userId: ObjectId;
  familyId: string;
  createdAt: Date;
  expiresAt: Date;
  /** The end of the whole family (login); absent on tokens stored before it existed. */
  familyExpiresAt?: Date;
  rotatedAt: Date | null;
  revokedAt: Date | null;
}

export type ClaimResult =
  | { outcome: 'rotated'; record: RefreshTokenRecord }
  /** Already rotated or revoked: a replay, so the family has been revoked. */
  | { outcome: 'reused'; record: RefreshTokenRecord }
  | { outcome: 'invalid' };

export interface RefreshTokenStore {
  ensureIndexes(): Promise<void>;
  /**
   * Stores a new token: of a new family (a login) when `family` is omitted, else of
   * that family, never outliving its end. Returns the raw token.
   */
  issue(input: { userId: ObjectId; family?: { id: string; expiresAt: Date }; now: Date }): Promise<{
    token: string;
    familyId: string;
    expiresAt: Date;
    familyExpiresAt: Date;
  }>;
  /**
   * Marks the token rotated if it is live. A token that was already rotated or revoked
   * revokes its whole family before this returns `reused`.
   */
  claim(token: string, now: Date): Promise<ClaimResult>;
  /** True when some token of the family has been revoked (reuse or logout). */
  isFamilyRevoked(familyId: string): Promise<boolean>;
  revokeFamily(familyId: string, now: Date): Promise<void>;
  /** Revokes every family of the user (logout everywhere, password change). */
  revokeAllOfUser(userId: ObjectId, now: Date): Promise<void>;
  /** Revokes the family of the token, if the token is known. */
  revokeByToken(token: string, now: Date): Promise<void>;
}

export const REFRESH_TOKENS_COLLECTION = 'refresh_tokens';

export function hashRefreshToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('base64url');
}

/** A stored token's family end (older tokens: their family started no later than they did). */
export function familyExpiresAtOf(record: RefreshTokenRecord, familyMaxAgeSeconds: number): Date {
  return (
    record.familyExpiresAt ?? new Date(record.createdAt.getTime() + familyMaxAgeSeconds * 1000)
  );
}

export function createRefreshTokenStore(
  db: Db,
  options: { ttlSeconds: number; familyMaxAgeSeconds: number },
): RefreshTokenStore {
  const tokens: Collection<RefreshTokenRecord> =
    db.collection<RefreshTokenRecord>(REFRESH_TOKENS_COLLECTION);

  async function revokeFamily(familyId: string, now: Date): Promise<void> {
    await tokens.updateMany({ familyId, revokedAt: null }, { $set: { revokedAt: now } });
  }

  return {
    async ensureIndexes() {
      await tokens.createIndex({ familyId: 1 }, { name: 'family' });
      await tokens.createIndex({ userId: 1 }, { name: 'user' });
      await createTtlIndexIfSupported(tokens, 'expiresAt');
    },

    async issue({ userId, family, now }) {
      const token = randomBytes(32).toString('base64url');
      const familyId = family?.id ?? randomUUID();
      const familyExpiresAt =
        family?.expiresAt ?? new Date(now.getTime() + options.familyMaxAgeSeconds * 1000);
      const expiresAt = new Date(
        Math.min(now.getTime() + options.ttlSeconds * 1000, familyExpiresAt.getTime()),
      );
      await tokens.insertOne({
        _id: hashRefreshToken(token),
        userId,
        familyId,
        createdAt: now,
        expiresAt,
        familyExpiresAt,
        rotatedAt: null,
        revokedAt: null,
      });
      return { token, familyId, expiresAt, familyExpiresAt };
    },

    async claim(token, now) {
      const hash = hashRefreshToken(token);
      const claimed = await tokens.findOneAndUpdate(
        { _id: hash, rotatedAt: null, revokedAt: null, expiresAt: { $gt: now } },
        { $set: { rotatedAt: now } },
        { returnDocument: 'after' },
      );
      if (claimed) return { outcome: 'rotated', record: claimed };

      const existing = await tokens.findOne({ _id: hash });
      if (!existing) return { outcome: 'invalid' };
      if (existing.rotatedAt !== null || existing.revokedAt !== null) {
        await revokeFamily(existing.familyId, now);
        return { outcome: 'reused', record: existing };
      }
      return { outcome: 'invalid' }; // expired
    },

    async isFamilyRevoked(familyId) {
      return (
        (await tokens.findOne(
          { familyId, revokedAt: { $ne: null } },
          { projection: { _id: 1 } },
        )) !== null
      );
    },

    revokeFamily,

    async revokeAllOfUser(userId, now) {
      await tokens.updateMany({ userId, revokedAt: null }, { $set: { revokedAt: now } });
    },

    async revokeByToken(token, now) {
      const existing = await tokens.findOne(
        { _id: hashRefreshToken(token) },
        { projection: { familyId: 1 } },
      );
      if (existing) await revokeFamily(existing.familyId, now);
    },
  };
}
