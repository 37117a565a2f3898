// Read markers: one small document per (conversation, user), so moving a marker is a
// single-document write that can carry its `read` event (outbox.ts). The marker only
// moves forward: the write matches only while the stored seq is lower.
import type { ParleyEvent } from '@parley/contracts';
import type { Collection, Db, IndexDescription } from 'mongodb';
import { createDeclaredIndexes } from '../storage/mongo-indexes';
import { OUTBOX_INDEX, withOutbox, type OutboxFields } from '../outbox/outbox';
import { isDuplicateKeyError } from '../storage/retry-backoff';

export interface ReadMarkerDoc extends OutboxFields {
  /** `<conversationId>|<userId>`: the key is the _id, so lookups need no other index. */
  _id: string;
  conversationId: string;
  userId: string;
  seq: number;
  updatedAt: Date;
}

export const READ_MARKERS_COLLECTION = 'read_markers';
export const READ_MARKER_INDEXES: IndexDescription[] = [OUTBOX_INDEX];

export function readMarkerId(conversationId: string, userId: string): string {
  return `${conversationId}|${userId}`;
}

export interface ReadMarkerStore {
  readonly collection: Collection<ReadMarkerDoc>;
  ensureIndexes(): Promise<void>;
  /** The user's marker in each of the conversations (0 where none). */
  markersOf(userId: string, conversationIds: string[]): Promise<Map<string, number>>;
  /**
   * Moves the marker to `seq` if that is forward, with its events in the same write.
   * Resolves false (and stores nothing) when the marker is already at or past `seq`.
   */
  advance(
    conversationId: string,
    userId: string,
    seq: number,
    events: ParleyEvent[],
  ): Promise<boolean>;
}

export function createReadMarkerStore(options: { db: Db; now?: () => Date }): ReadMarkerStore {
  const collection = options.db.collection<ReadMarkerDoc>(READ_MARKERS_COLLECTION);
  const now = options.now ?? (() => new Date());

  return {
    collection,

    async ensureIndexes() {
      await createDeclaredIndexes(collection, READ_MARKER_INDEXES);
    },

    async markersOf(userId, conversationIds) {
      const markers = new Map<string, number>();
      if (conversationIds.length === 0) return markers;
      const docs = await collection
        .find({ _id: { $in: conversationIds.map((id) => readMarkerId(id, userId)) } })
        .project<{ conversationId: string; seq: number }>({ conversationId: 1, seq: 1 })
        .toArray();
      for (const doc of docs) markers.set(doc.conversationId, doc.seq);
      return markers;
    },

    async advance(conversationId, userId, seq, events) {
      const at = now();
      try {
        // upsert: no marker yet inserts one; a marker at or past seq does not match the
        // filter, so the upsert tries to insert a second _id and fails with E11000
        const result = await collection.updateOne(
          { _id: readMarkerId(conversationId, userId), seq: { $lt: seq } },
          withOutbox({ $set: { conversationId, userId, seq, updatedAt: at } }, events, at),
          { upsert: true },
        );
        return result.modifiedCount + result.upsertedCount > 0;
      } catch (err) {
        if (isDuplicateKeyError(err)) return false;
        throw err;
      }
    },
  };
}
