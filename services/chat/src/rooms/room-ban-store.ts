// Room bans, one document per (room, user). A ban outlives the membership it ended:
// join, invitation and send check it (403 banned) until an owner or admin lifts it.
import type { UserRef } from '@parley/contracts';
import type { Collection, Db, IndexDescription } from 'mongodb';
import { createDeclaredIndexes } from '../storage/mongo-indexes';
import { roomMemberKey } from './room-member-store';

export interface RoomBanDoc {
  /** `<roomId>:<userId>`. */
  _id: string;
  roomId: string;
  userId: string;
  username: string;
  reason?: string;
  bannedBy: UserRef;
  bannedAt: Date;
}

export const ROOM_BANS_COLLECTION = 'room_bans';

const ROOM_BAN_INDEXES: IndexDescription[] = [
  { key: { roomId: 1, bannedAt: -1 }, name: 'room_bans' },
];

/** GET /chat/rooms/:id/bans answers at most this many, newest first. */
export const ROOM_BANS_LIST_MAX = 1_000;

export interface RoomBanStore {
  readonly collection: Collection<RoomBanDoc>;
  ensureIndexes(): Promise<void>;
  isBanned(roomId: string, userId: string): Promise<boolean>;
  /** Records the ban (a second ban replaces the first's reason and time). */
  put(ban: Omit<RoomBanDoc, '_id'>): Promise<void>;
  remove(roomId: string, userId: string): Promise<boolean>;
  list(roomId: string): Promise<RoomBanDoc[]>;
}

export function createRoomBanStore(options: { db: Db }): RoomBanStore {
  const collection = options.db.collection<RoomBanDoc>(ROOM_BANS_COLLECTION);
  return {
    collection,
    async ensureIndexes() {
      await createDeclaredIndexes(collection, ROOM_BAN_INDEXES);
    },
    async isBanned(roomId, userId) {
      return (await collection.countDocuments({ _id: roomMemberKey(roomId, userId) })) > 0;
    },
    async put(ban) {
      const _id = roomMemberKey(ban.roomId, ban.userId);
      await collection.replaceOne({ _id }, ban, { upsert: true });
    },
    async remove(roomId, userId) {
      return (await collection.deleteOne({ _id: roomMemberKey(roomId, userId) })).deletedCount > 0;
    },
    list(roomId) {
      return collection.find({ roomId }).sort({ bannedAt: -1 }).limit(ROOM_BANS_LIST_MAX).toArray();
    },
  };
}
