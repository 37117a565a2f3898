// Users in MongoDB. Usernames arrive lower-cased (the contract schema normalises them)
// and a unique index on `username` makes "Alice" and "alice" the same account even
// when two registrations race: the loser's E11000 becomes 409 username_taken.
import { ConflictError } from '@parley/server-kit';
import type { User } from '@parley/contracts';
import { MongoServerError, ObjectId, type Collection, type Db } from 'mongodb';

export interface UserRecord {
  _id: ObjectId;
  username: string;
  displayName: string;
  passwordHash: string;
  createdAt: Date;
  /**
   * Every session up to this moment was revoked (logout everywhere, password change):
   * access tokens issued at or before it are refused, and new ones are dated after it.
   */
  sessionsRevokedAt?: Date;
}

export interface NewUser {
  username: string;
  displayName: string;
  passwordHash: string;
}

export interface UserStore {
  ensureIndexes(): Promise<void>;
  /** Throws ConflictError(username_taken) when the username exists in any case. */
  create(user: NewUser, now: Date): Promise<UserRecord>;
  findByUsername(username: string): Promise<UserRecord | null>;
  /** null for an unknown or malformed id. */
  findById(id: string): Promise<UserRecord | null>;
  /** Unknown and malformed ids are left out; order follows the stored documents. */
  findByIds(ids: readonly string[]): Promise<UserRecord[]>;
  /**
   * Records that every session up to `at` is revoked (never moves the mark back) and,
   * with `passwordHash`, sets the new password in the same single-document write.
   */
  revokeSessions(id: ObjectId, at: Date, passwordHash?: string): Promise<void>;
}

export const USERS_COLLECTION = 'users';
const OBJECT_ID_HEX = /^[0-9a-f]{24}$/i;
const DUPLICATE_KEY = 11000;

/** The public view of a user: what every response carries, never the hash. */
export function toPublicUser(record: UserRecord): User {
  return {
    id: record._id.toHexString(),
    username: record.username,
    displayName: record.displayName,
    createdAt: record.createdAt.toISOString(),
  };
}

/** The id as an ObjectId, or undefined when it cannot be one (no driver exception). */
export function parseObjectId(id: string): ObjectId | undefined {
  return OBJECT_ID_HEX.test(id) ? ObjectId.createFromHexString(id) : undefined;
}

export function createUserStore(db: Db): UserStore {
  const users: Collection<UserRecord> = db.collection<UserRecord>(USERS_COLLECTION);

  return {
    async ensureIndexes() {
      await users.createIndex({ username: 1 }, { unique: true, name: 'username_unique' });
    },

    async create(user, now) {
      const record: UserRecord = {
        _id: new ObjectId(),
        username: user.username.toLowerCase(),
        displayName: user.displayName,
        passwordHash: user.passwordHash,
        createdAt: now,
      };
      try {
        await users.insertOne(record);
      } catch (err) {
        if (err instanceof MongoServerError && err.code === DUPLICATE_KEY) {
          throw new ConflictError(`The username "${record.username}" is taken`, {
            code: 'username_taken',
          });
        }
        throw err;
      }
      return record;
    },

    findByUsername(username) {
      // A plain string equality: the value comes from a zod-checked string, so an
      // operator object like {"$gt": ""} can never reach this filter.
      return users.findOne({ username: username.toLowerCase() });
    },

    async findById(id) {
      const objectId = parseObjectId(id);
      return objectId ? users.findOne({ _id: objectId }) : null;
    },

    async findByIds(ids) {
      const objectIds = ids.flatMap((id) => parseObjectId(id) ?? []);
      if (objectIds.length === 0) return [];
      return users.find({ _id: { $in: objectIds } }).toArray();
    },

    async revokeSessions(id, at, passwordHash) {
      await users.updateOne(
        { _id: id },
        {
          $max: { sessionsRevokedAt: at },
          ...(passwordHash === undefined ? {} : { $set: { passwordHash } }),
        },
      );
    },
  };
}
