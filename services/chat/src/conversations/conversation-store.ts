// Conversations in MongoDB: direct conversations (id derived from the two user ids,
// created by the first send with an upsert) and rooms (ObjectId hex ids). A direct
// conversation stores its two members with their usernames (memberIds is the indexed
// copy); a room stores only memberVersion and memberCount, its members live in
// room_members (rooms/room-member-store.ts) and every read here fills them in from
// the instance's copy of that version, so a room's document costs the same to read
// whatever its size.
import { createHash } from 'node:crypto';
import type {
  Conversation,
  ConversationMember,
  ConversationRef,
  ParleyEvent,
  UserRef,
} from '@parley/contracts';
import { NotFoundError } from '@parley/server-kit';
import { ObjectId, type Collection, type Db, type Filter, type IndexDescription } from 'mongodb';
import { createConversationActivity, type ActivityFields } from './conversation-activity';
import { createDeclaredIndexes } from '../storage/mongo-indexes';
import { OUTBOX_INDEX, outboxFieldsFor, type OutboxFields } from '../outbox/outbox';
import { isDuplicateKeyError } from '../storage/retry-backoff';
import {
  roomMemberKey,
  type RoomMemberDoc,
  type RoomMemberStore,
} from '../rooms/room-member-store';

export interface ConversationDoc extends OutboxFields {
  _id: string;
  kind: 'direct' | 'room';
  name?: string;
  /** Rooms only. */
  description?: string;
  /** Rooms: invisible to non-members. Direct conversations are always private. */
  isPrivate: boolean;
  /** Direct: stored. Rooms: filled in from room_members on every read, never stored. */
  members: ConversationMember[];
  memberIds: string[];
  /** Rooms: raised by every membership or role change (rooms/membership-change.ts). */
  memberVersion?: number;
  /** Rooms: how many members room_members holds for it. */
  memberCount?: number;
  /** Rooms: a membership change is under way until then (rooms/membership-change.ts). */
  membershipChangeUntil?: Date;
  lastSeq: number;
  /** Newest message's time, or creation time while empty: the list order. */
  lastMessageAt: Date;
  createdAt: Date;
  updatedAt: Date;
  createdBy?: string;
  version: number;
}

export const CONVERSATIONS_COLLECTION = 'conversations';

export const CONVERSATION_INDEXES: IndexDescription[] = [
  // a member's conversations, newest activity first (GET /chat/conversations)
  { key: { memberIds: 1, lastMessageAt: -1, _id: -1 }, name: 'member_activity' },
  // public rooms (GET /chat/rooms)
  { key: { kind: 1, isPrivate: 1, lastMessageAt: -1 }, name: 'room_listing' },
  OUTBOX_INDEX,
];

const READABLE_ID = /^[A-Za-z0-9-]+$/;

/**
 * The one id of the direct conversation between two users, whoever writes first:
 * `d_<idA>_<idB>` with the ids sorted, or a hash of them when they could be
 * ambiguous (an underscore) or too long for an id.
 */
export function directConversationId(userA: string, userB: string): string {
  const [a, b] = [userA, userB].sort();
  const readable = `d_${a}_${b}`;
  if (READABLE_ID.test(a ?? '') && READABLE_ID.test(b ?? '') && readable.length <= 128)
    return readable;
  return `d_h${createHash('sha256').update(`${a}\u0000${b}`).digest('hex')}`;
}

/** Rooms with more members than this carry a bounded list by default (ROOM_MEMBERS_INLINE_MAX). */
export const DEFAULT_ROOM_MEMBERS_INLINE_MAX = 100;

/** How a conversation's member list is shown (docs/design.md §4.2). */
export interface MemberListView {
  /** A room with more members than this lists at most this many (membersComplete: false). */
  inlineMax: number;
  /** Listed first in a bounded list, if members: the caller, the users a change is about. */
  first?: readonly string[];
}

/**
 * The members a conversation lists: all of them up to `inlineMax`; past it the users
 * `first` names, then owners, then admins, at most `inlineMax` in all (so a payload
 * never grows with the room), and `complete` false.
 */
function listedMembers(
  doc: ConversationDoc,
  view: MemberListView,
): { members: ConversationMember[]; complete: boolean } {
  if (doc.kind !== 'room' || doc.members.length <= view.inlineMax) {
    return { members: doc.members, complete: true };
  }
  const byId = new Map(doc.members.map((m) => [m.id, m]));
  const chosen = new Map<string, ConversationMember>();
  const take = (m: ConversationMember | undefined) => {
    if (m && chosen.size < view.inlineMax && !chosen.has(m.id)) chosen.set(m.id, m);
  };
  for (const id of view.first ?? []) take(byId.get(id));
  for (const role of ['owner', 'admin'] as const) {
    for (const m of doc.members) if (m.role === role) take(m);
  }
  return { members: [...chosen.values()], complete: false };
}

export function toConversation(doc: ConversationDoc, view: MemberListView): Conversation {
  const listed = listedMembers(doc, view);
  const conversation: Conversation = {
    id: doc._id,
    kind: doc.kind,
    isPrivate: doc.isPrivate,
    members: listed.members.map((m) =>
      m.role === undefined
        ? { id: m.id, username: m.username }
        : { id: m.id, username: m.username, role: m.role },
    ),
    ...(listed.complete ? {} : { membersComplete: false }),
    memberCount: doc.kind === 'room' ? (doc.memberCount ?? doc.members.length) : doc.members.length,
    lastSeq: doc.lastSeq,
    createdAt: doc.createdAt.toISOString(),
    updatedAt: doc.updatedAt.toISOString(),
  };
  if (doc.name !== undefined) conversation.name = doc.name;
  if (doc.description !== undefined) conversation.description = doc.description;
  return conversation;
}

export function toConversationRef(
  doc: Pick<ConversationDoc, '_id' | 'kind' | 'name'>,
): ConversationRef {
  const ref: ConversationRef = { id: doc._id, kind: doc.kind };
  if (doc.name !== undefined) ref.name = doc.name;
  return ref;
}

export interface ListCursor {
  lastMessageAt: Date;
  id: string;
}

export interface NewRoom {
  name: string;
  isPrivate: boolean;
  /** The first one is the creator and owner. */
  members: UserRef[];
  createdBy: string;
}

/** A room's members as a conversation carries them. */
export function membersOfRows(
  rows: readonly RoomMemberDoc[],
): Pick<ConversationDoc, 'members' | 'memberIds'> {
  return {
    members: rows.map((r) => ({ id: r.userId, username: r.username, role: r.role })),
    memberIds: rows.map((r) => r.userId),
  };
}

export interface ConversationStore {
  readonly collection: Collection<ConversationDoc>;
  readonly roomMembers: RoomMemberStore;
  ensureIndexes(): Promise<void>;
  findById(id: string): Promise<ConversationDoc | null>;
  /**
   * The document read now with, for a room, only `userId`'s room_members row as its
   * members (none when they are not one): enough to decide their membership and role,
   * for two point reads and never the list. Both reads are made whatever the id names,
   * so the time of a refusal tells an outsider nothing.
   */
  findWithMember(id: string, userId: string): Promise<ConversationDoc | null>;
  /** A stored room document with its members filled in (from memory when current). */
  withMembers(doc: ConversationDoc): Promise<ConversationDoc>;
  /** Drops findRecent's copy (a change through this instance made it old). */
  forget(id: string): void;
  /**
   * For the hot paths (send, typing): the document as this instance last read or
   * wrote it, if that was within `cacheTtlMs` (a direct conversation's members never
   * change, so it stays); else read now. Changes through this instance update it at
   * once; through another instance it may be up to cacheTtlMs old. So a caller must
   * re-read with findById before refusing someone as a non-member (they may have
   * joined since); a member who left may still pass for that long. `fresh` reads now
   * (and keeps what it read).
   */
  findRecent(id: string, options?: { fresh?: boolean }): Promise<ConversationDoc | null>;
  /** findRecent's copy, if it has a usable one; never reads. */
  cached(id: string): ConversationDoc | undefined;
  /**
   * The document read now, with a room's members as this instance knows them at its
   * memberVersion — undefined when it does not know them (or the id names nothing),
   * so the caller reads strictly (findRecent fresh). One small read, never the list.
   */
  findCurrent(id: string): Promise<ConversationDoc | undefined>;
  /** Of `ids`, the conversations `userId` is a member of: id, kind and name (one query). */
  findForMember(
    userId: string,
    ids: readonly string[],
  ): Promise<Pick<ConversationDoc, '_id' | 'kind' | 'name'>[]>;
  /** Of `candidates`, the users who share a conversation with `userId` (one query). */
  membersSharedWith(userId: string, candidates: readonly string[]): Promise<string[]>;
  /** The direct conversation of two users, created if it does not exist yet. */
  ensureDirect(a: UserRef, b: UserRef): Promise<ConversationDoc>;
  insertRoom(
    room: NewRoom,
    makeEvents: (doc: ConversationDoc) => ParleyEvent[],
  ): Promise<{ doc: ConversationDoc; events: ParleyEvent[] }>;
  /**
   * Moves lastSeq/lastMessageAt forward only ($max), whatever order sends finish in,
   * written behind the send with every other conversation's of the same window
   * (conversation-activity.ts); this store's reads see it at once.
   */
  recordMessage(id: string, seq: number, at: Date): void;
  /** Writes the recorded activity now (shutdown, tests). */
  flushActivity(): Promise<void>;
  listForMember(
    userId: string,
    options: { limit: number; before?: ListCursor },
  ): Promise<ConversationDoc[]>;
  listRooms(userId: string, limit: number): Promise<ConversationDoc[]>;
}

export interface ConversationStoreOptions {
  db: Db;
  roomMembers: RoomMemberStore;
  now?: () => Date;
  /** How long findRecent may answer from memory for a room; 0 turns the cache off. */
  cacheTtlMs?: number;
  /** Documents findRecent keeps (least recently used go first). */
  cacheMaxEntries?: number;
  /** How long recorded activity gathers before its one bulk write; default 100 ms. */
  activityWriteDelayMs?: number;
  onActivityWriteFailure?: (err: unknown) => void;
}

export function createConversationStore(options: ConversationStoreOptions): ConversationStore {
  const collection = options.db.collection<ConversationDoc>(CONVERSATIONS_COLLECTION);
  const roomMembers = options.roomMembers;
  const now = options.now ?? (() => new Date());
  const cacheTtlMs = options.cacheTtlMs ?? 1_000;
  const cacheMaxEntries = options.cacheMaxEntries ?? 10_000;
  // Reading a room's document costs in proportion to its members (every send did it),
  // so the hot paths take it from here; see findRecent for what that allows.
  const recent = new Map<string, { doc: ConversationDoc; readAt: number }>();
  // bumped by every change through this store: a read that overlapped one may hold
  // the document from before it, so it is not kept
  let changes = 0;
  function remember(doc: ConversationDoc): ConversationDoc {
    if (cacheTtlMs <= 0) return doc;
    recent.delete(doc._id);
    recent.set(doc._id, { doc, readAt: Date.now() });
    if (recent.size > cacheMaxEntries) recent.delete(recent.keys().next().value as string);
    return doc;
  }
  const activity = createConversationActivity({
    collection: options.db.collection<ActivityFields>(CONVERSATIONS_COLLECTION),
    delayMs: options.activityWriteDelayMs ?? 100,
    ...(options.onActivityWriteFailure ? { onWriteFailure: options.onActivityWriteFailure } : {}),
  });
  /**
   * The document with this instance's activity that may not be stored yet: lastSeq
   * (the newest message, the unread count) and updatedAt. Not lastMessageAt: it is the
   * list's order and its cursor, which must stay the stored one for pages to line up.
   */
  function withActivity(doc: ConversationDoc): ConversationDoc {
    const pending = activity.pending(doc._id);
    if (!pending || pending.seq <= doc.lastSeq) return doc;
    return {
      ...doc,
      lastSeq: pending.seq,
      updatedAt: pending.at > doc.updatedAt ? pending.at : doc.updatedAt,
    };
  }

  function usableCopy(id: string): ConversationDoc | undefined {
    const cached = recent.get(id);
    if (cached && (cached.doc.kind === 'direct' || Date.now() - cached.readAt < cacheTtlMs)) {
      return cached.doc;
    }
    return undefined;
  }

  async function withMembers(stored: ConversationDoc): Promise<ConversationDoc> {
    const doc = withActivity(stored);
    if (doc.kind !== 'room') return doc;
    // while a change is under way its rows may be half written: read, but keep nothing
    const list = await roomMembers.listAt(doc._id, doc.memberVersion ?? 0, {
      cache: doc.membershipChangeUntil === undefined,
    });
    return { ...doc, ...membersOfRows(list.members) };
  }

  // The reads that may refuse someone (findById, findRecent's fresh read) cost the
  // same whatever the id names — a room, a direct conversation or nothing — so the
  // answer's time tells an outsider nothing (docs/design.md §4.4): the document, then
  // the room_members rows under that id, always both. Read in that order, the rows are
  // at least as new as the document's memberVersion, so they are kept as that
  // version's list (membership-change.ts says why that is safe).
  async function readWithKnownMembers(id: string): Promise<ConversationDoc | null> {
    const doc = await collection.findOne({ _id: id });
    return doc ? withMembers(doc) : null;
  }

  async function readWithMembers(id: string): Promise<ConversationDoc | null> {
    const stored = await collection.findOne({ _id: id });
    const doc = stored && withActivity(stored);
    const isRoom = doc?.kind === 'room';
    const list = await roomMembers.listAt(id, isRoom ? (doc.memberVersion ?? 0) : -1, {
      cache: isRoom && doc.membershipChangeUntil === undefined,
      fresh: true,
    });
    if (!doc || !isRoom) return doc;
    return { ...doc, ...membersOfRows(list.members) };
  }

  return {
    collection,
    roomMembers,
    withMembers,

    async findWithMember(id, userId) {
      const [doc, row] = await Promise.all([
        collection.findOne({ _id: id }),
        roomMembers.find(id, userId),
      ]);
      if (doc?.kind !== 'room') return doc;
      return { ...doc, ...membersOfRows(row ? [row] : []) };
    },

    forget(id) {
      changes += 1;
      recent.delete(id);
    },

    async ensureIndexes() {
      await createDeclaredIndexes(collection, CONVERSATION_INDEXES);
    },

    findById: readWithMembers,

    async findRecent(id, { fresh = false } = {}) {
      const usable = fresh ? undefined : usableCopy(id);
      if (usable) return usable;
      const changesBefore = changes;
      const doc = fresh ? await readWithMembers(id) : await readWithKnownMembers(id);
      if (!doc) recent.delete(id);
      else if (changes === changesBefore) remember(doc);
      return doc;
    },

    async findCurrent(id) {
      const changesBefore = changes;
      const stored = await collection.findOne({ _id: id });
      if (!stored) return undefined;
      const doc = withActivity(stored);
      let current: ConversationDoc = doc;
      if (doc.kind === 'room') {
        const list =
          doc.membershipChangeUntil === undefined
            ? roomMembers.cachedAt(id, doc.memberVersion ?? 0)
            : undefined;
        if (!list) return undefined;
        current = { ...doc, ...membersOfRows(list.members) };
      }
      if (changes === changesBefore) remember(current);
      return current;
    },

    cached: usableCopy,

    async findForMember(userId, ids) {
      if (ids.length === 0) return [];
      const rooms = await roomMembers.roomIdsOf(userId, ids);
      return collection
        .find({ _id: { $in: [...ids] }, $or: [{ memberIds: userId }, { _id: { $in: rooms } }] })
        .project<Pick<ConversationDoc, '_id' | 'kind' | 'name'>>({ _id: 1, kind: 1, name: 1 })
        .toArray();
    },

    async membersSharedWith(userId, candidates) {
      const others = candidates.filter((id) => id !== userId);
      const shared = new Set(candidates.includes(userId) ? [userId] : []);
      if (others.length > 0) {
        // the members of the user's conversations that hold any candidate; a room
        // brings all its members, so only the candidates are kept
        const [direct, inRooms] = await Promise.all([
          collection.distinct('memberIds', {
            $and: [{ memberIds: userId }, { memberIds: { $in: others } }],
          }) as Promise<string[]>,
          roomMembers.roomIdsOf(userId).then((rooms) => roomMembers.membersAmong(rooms, others)),
        ]);
        for (const id of [...direct, ...inRooms]) shared.add(id);
      }
      return candidates.filter((id) => shared.has(id));
    },

    async ensureDirect(a, b) {
      const _id = directConversationId(a.id, b.id);
      const existing = recent.get(_id)?.doc ?? (await collection.findOne({ _id }));
      if (existing) return remember(withActivity(existing));
      const at = now();
      const members = a.id === b.id ? [a] : [a, b].sort((x, y) => (x.id < y.id ? -1 : 1));
      const doc: ConversationDoc = {
        _id,
        kind: 'direct',
        isPrivate: true,
        members,
        memberIds: members.map((m) => m.id),
        lastSeq: 0,
        lastMessageAt: at,
        createdAt: at,
        updatedAt: at,
        version: 0,
      };
      try {
        // $setOnInsert: two first sends racing create one conversation
        const { _id: _ignored, ...fields } = doc;
        await collection.updateOne({ _id }, { $setOnInsert: fields }, { upsert: true });
      } catch (err) {
        // the other upsert won the insert; the document exists now
        if (!isDuplicateKeyError(err)) throw err;
      }
      const stored = await collection.findOne({ _id });
      if (!stored)
        throw new NotFoundError('No such conversation', { code: 'conversation_not_found' });
      return remember(stored);
    },

    async insertRoom(room, makeEvents) {
      const at = now();
      const _id = new ObjectId().toHexString();
      const rows: RoomMemberDoc[] = room.members.map((m, i) => ({
        _id: roomMemberKey(_id, m.id),
        roomId: _id,
        userId: m.id,
        username: m.username,
        role: i === 0 ? 'owner' : 'member',
        joinedAt: at,
      }));
      const stored: Omit<ConversationDoc, 'members' | 'memberIds'> = {
        _id,
        kind: 'room',
        name: room.name,
        isPrivate: room.isPrivate,
        memberVersion: 1,
        memberCount: rows.length,
        lastSeq: 0,
        lastMessageAt: at,
        createdAt: at,
        updatedAt: at,
        createdBy: room.createdBy,
        version: 0,
      };
      const doc: ConversationDoc = { ...stored, ...membersOfRows(rows) };
      const events = makeEvents(doc);
      // members first: rows without their room (a crash in between) are never read
      await roomMembers.collection.insertMany(rows);
      await collection.insertOne({
        ...(stored as ConversationDoc),
        ...outboxFieldsFor(events, at),
      });
      remember(doc);
      return { doc, events };
    },

    recordMessage(id, seq, at) {
      const cached = recent.get(id)?.doc;
      // the cached copy's lastSeq is the next send's seq guess: keep it current
      if (cached && cached.lastSeq < seq) recent.get(id)!.doc = { ...cached, lastSeq: seq };
      activity.record(id, seq, at);
    },

    flushActivity: () => activity.flush(),

    async listForMember(userId, { limit, before }) {
      const rooms = await roomMembers.roomIdsOf(userId);
      const mine: Filter<ConversationDoc> = {
        $or: [{ memberIds: userId }, { _id: { $in: rooms } }],
      };
      const filter: Filter<ConversationDoc> = before
        ? {
            $and: [
              mine,
              {
                $or: [
                  { lastMessageAt: { $lt: before.lastMessageAt } },
                  { lastMessageAt: before.lastMessageAt, _id: { $lt: before.id } },
                ],
              },
            ],
          }
        : mine;
      const docs = await collection
        .find(filter)
        .sort({ lastMessageAt: -1, _id: -1 })
        .limit(limit)
        .toArray();
      return Promise.all(docs.map(withMembers));
    },

    async listRooms(userId, limit) {
      const rooms = await roomMembers.roomIdsOf(userId);
      const docs = await collection
        .find({ kind: 'room', $or: [{ isPrivate: false }, { _id: { $in: rooms } }] })
        .sort({ lastMessageAt: -1, _id: -1 })
        .limit(limit)
        .toArray();
      return Promise.all(docs.map(withMembers));
    },
  };
}
