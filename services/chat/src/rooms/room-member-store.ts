// Room members in their own collection, one document per (room, user) with the
// member's role, so that a room's document stays the same size however many members
// it has and a send never reads or decodes the member list. The room document keeps
// `memberVersion`, raised by every membership or role change (membership-change.ts);
// each instance keeps the member list of the rooms it serves keyed by that version,
// so the list is read again only after it changed.
import type { RoomRole } from '@parley/contracts';
import type { Collection, Db, IndexDescription } from 'mongodb';
import { createDeclaredIndexes } from '../storage/mongo-indexes';

export interface RoomMemberDoc {
  /** `<roomId>:<userId>`: the unique (roomId, userId) key, one field. */
  _id: string;
  roomId: string;
  userId: string;
  username: string;
  role: RoomRole;
  joinedAt: Date;
}

export const ROOM_MEMBERS_COLLECTION = 'room_members';

export const ROOM_MEMBER_INDEXES: IndexDescription[] = [
  // a room's member list (and its owners)
  { key: { roomId: 1, role: 1 }, name: 'room_role' },
  // the rooms of a user (conversation list, room list, contacts)
  { key: { userId: 1 }, name: 'user_rooms' },
];

export function roomMemberKey(roomId: string, userId: string): string {
  return `${roomId}:${userId}`;
}

/** Members a room may have by default (ROOM_MAX_MEMBERS; rooms.ts refuses more). */
export const DEFAULT_ROOM_MAX_MEMBERS = 10_000;

/** The roles in rising order of what they may do. */
export const ROLE_RANK: Record<RoomRole, number> = { member: 0, admin: 1, owner: 2 };

/** A room's members as one version of its document names them. */
export interface RoomMemberList {
  version: number;
  members: readonly RoomMemberDoc[];
  byId: ReadonlyMap<string, RoomMemberDoc>;
}

export interface RoomMemberStore {
  readonly collection: Collection<RoomMemberDoc>;
  ensureIndexes(): Promise<void>;
  find(roomId: string, userId: string): Promise<RoomMemberDoc | null>;
  /**
   * The members at `version` of the room: from memory when this instance already read
   * that version, else read now. `cache: false` (a change is under way) keeps nothing;
   * `fresh` reads even when a copy is kept.
   */
  listAt(
    roomId: string,
    version: number,
    options?: { cache?: boolean; fresh?: boolean },
  ): Promise<RoomMemberList>;
  /** The copy listAt keeps for that version, if any; never reads. */
  cachedAt(roomId: string, version: number): RoomMemberList | undefined;
  /** Ids of the rooms the user is a member of, of those given when `among` is set. */
  roomIdsOf(userId: string, among?: readonly string[]): Promise<string[]>;
  countOwners(roomId: string): Promise<number>;
  /**
   * Up to `limit` members of the room ordered by user id, those after `afterUserId`
   * when given: one range of the `_id` index (`<roomId>:<userId>`), so any page costs
   * the same whatever the room's size.
   */
  page(roomId: string, afterUserId: string | undefined, limit: number): Promise<RoomMemberDoc[]>;
  /** Of `candidates`, those in any of the rooms given (one query). */
  membersAmong(roomIds: readonly string[], candidates: readonly string[]): Promise<string[]>;
}

export interface RoomMemberStoreOptions {
  db: Db;
  /** Rooms whose member list is kept (least recently used go first). */
  cacheMaxRooms?: number;
}

export function createRoomMemberStore(options: RoomMemberStoreOptions): RoomMemberStore {
  const collection = options.db.collection<RoomMemberDoc>(ROOM_MEMBERS_COLLECTION);
  const maxRooms = options.cacheMaxRooms ?? 1_000;
  const lists = new Map<string, RoomMemberList>();

  function cachedAt(roomId: string, version: number): RoomMemberList | undefined {
    const list = lists.get(roomId);
    return list?.version === version ? list : undefined;
  }

  function keep(roomId: string, version: number, members: readonly RoomMemberDoc[]) {
    const list: RoomMemberList = {
      version,
      members,
      byId: new Map(members.map((m) => [m.userId, m])),
    };
    // an older read finishing late must not replace a newer version's list
    const current = lists.get(roomId);
    if (!current || current.version <= version) {
      lists.delete(roomId);
      lists.set(roomId, list);
      if (lists.size > maxRooms) lists.delete(lists.keys().next().value as string);
    }
    return list;
  }

  return {
    collection,

    async ensureIndexes() {
      await createDeclaredIndexes(collection, ROOM_MEMBER_INDEXES);
    },

    find(roomId, userId) {
      return collection.findOne({ _id: roomMemberKey(roomId, userId) });
    },

    async listAt(roomId, version, { cache = true, fresh = false } = {}) {
      const kept = cache && !fresh ? cachedAt(roomId, version) : undefined;
      if (kept) {
        lists.delete(roomId);
        lists.set(roomId, kept);
        return kept;
      }
      const members = await collection.find({ roomId }).sort({ joinedAt: 1, _id: 1 }).toArray();
      if (cache) return keep(roomId, version, members);
      return { version, members, byId: new Map(members.map((m) => [m.userId, m])) };
    },

    cachedAt,

    async roomIdsOf(userId, among) {
      if (among && among.length === 0) return [];
      const filter = among ? { userId, roomId: { $in: [...among] } } : { userId };
      const rows = await collection
        .find(filter)
        .project<{ roomId: string }>({ roomId: 1 })
        .toArray();
      return rows.map((r) => r.roomId);
    },

    page(roomId, afterUserId, limit) {
      // every key of the room starts `<roomId>:`; `;` is the character after `:`
      const from = roomMemberKey(roomId, afterUserId ?? '');
      return collection
        .find({ _id: { $gt: from, $lt: `${roomId};` }, roomId })
        .sort({ _id: 1 })
        .limit(limit)
        .toArray();
    },

    countOwners(roomId) {
      return collection.countDocuments({ roomId, role: 'owner' });
    },

    async membersAmong(roomIds, candidates) {
      if (roomIds.length === 0 || candidates.length === 0) return [];
      return (await collection.distinct('userId', {
        roomId: { $in: [...roomIds] },
        userId: { $in: [...candidates] },
      })) as string[];
    },
  };
}
