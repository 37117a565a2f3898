// conversation_mutes: one row per member who muted a conversation, keyed
// `<userId>:<conversationId>`, read in bulk for the conversation list (mutes.ts holds
// the use cases that set and lift them).
import type { Collection, Db, IndexDescription } from 'mongodb';
import { createDeclaredIndexes } from '../storage/mongo-indexes';

export interface MuteDoc {
  /** `<userId>:<conversationId>`. */
  _id: string;
  userId: string;
  conversationId: string;
  /** Left out: until unmuted. */
  until?: Date;
}

export const MUTES_COLLECTION = 'conversation_mutes';
const MUTE_INDEXES: IndexDescription[] = [{ key: { userId: 1 }, name: 'user' }];

export interface MuteState {
  muted: boolean;
  mutedUntil?: string;
}

export interface MuteStore {
  readonly collection: Collection<MuteDoc>;
  ensureIndexes(): Promise<void>;
  set(userId: string, conversationId: string, until: Date | undefined): Promise<void>;
  clear(userId: string, conversationId: string): Promise<void>;
  /** The user's mutes of the conversations given that are still on at `now`. */
  statesOf(userId: string, ids: readonly string[], now: Date): Promise<Map<string, MuteState>>;
}

const keyOf = (userId: string, conversationId: string) => `${userId}:${conversationId}`;

export function createMuteStore(options: { db: Db }): MuteStore {
  const collection = options.db.collection<MuteDoc>(MUTES_COLLECTION);
  return {
    collection,
    async ensureIndexes() {
      await createDeclaredIndexes(collection, MUTE_INDEXES);
    },
    async set(userId, conversationId, until) {
      const _id = keyOf(userId, conversationId);
      await collection.replaceOne(
        { _id },
        { userId, conversationId, ...(until ? { until } : {}) },
        { upsert: true },
      );
    },
    async clear(userId, conversationId) {
      await collection.deleteOne({ _id: keyOf(userId, conversationId) });
    },
    async statesOf(userId, ids, now) {
      const states = new Map<string, MuteState>();
      if (ids.length === 0) return states;
      const rows = await collection
        .find({ _id: { $in: ids.map((id) => keyOf(userId, id)) } })
        .toArray();
      for (const row of rows) {
        if (!row.until) states.set(row.conversationId, { muted: true });
        else if (row.until > now) {
          states.set(row.conversationId, { muted: true, mutedUntil: row.until.toISOString() });
        }
      }
      return states;
    },
  };
}
