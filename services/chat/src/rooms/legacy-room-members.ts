// Rooms stored before room_members existed kept `members`/`memberIds` in their
// document. At startup (ensureIndexes) each such room gets its rows — the creator (or,
// without one, the first member) as owner, everyone else a member — and loses the
// arrays, raising memberVersion so no instance keeps an old list. Idempotent: the rows
// have fixed ids, and a room is rewritten only while it still holds the arrays, so two
// instances starting together, or one that dies half way, leave the same result.
import type { Collection } from 'mongodb';
import type { ConversationDoc } from '../conversations/conversation-store';
import { isDuplicateKeyError } from '../storage/retry-backoff';
import { roomMemberKey, type RoomMemberDoc } from './room-member-store';

export async function moveLegacyRoomMembers(
  conversations: Collection<ConversationDoc>,
  rows: Collection<RoomMemberDoc>,
): Promise<number> {
  let moved = 0;
  const legacy = conversations.find({ kind: 'room', members: { $exists: true } });
  for await (const room of legacy) {
    const ownerId = room.members.some((m) => m.id === room.createdBy)
      ? room.createdBy
      : room.members[0]?.id;
    const docs: RoomMemberDoc[] = room.members.map((m) => ({
      _id: roomMemberKey(room._id, m.id),
      roomId: room._id,
      userId: m.id,
      username: m.username,
      role: m.id === ownerId ? 'owner' : 'member',
      joinedAt: room.createdAt,
    }));
    if (docs.length > 0) {
      try {
        await rows.insertMany(docs, { ordered: false });
      } catch (err) {
        if (!isDuplicateKeyError(err)) throw err;
      }
    }
    const result = await conversations.updateOne(
      { _id: room._id, version: room.version },
      {
        $set: {
          memberVersion: (room.memberVersion ?? 0) + 1,
          memberCount: docs.length,
          version: room.version + 1,
        },
        $unset: { members: '', memberIds: '' },
      },
    );
    moved += result.modifiedCount;
  }
  return moved;
}
