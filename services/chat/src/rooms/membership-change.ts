// Every change to a room — members, roles, name, description, privacy — goes through
// changeRoom, which orders concurrent changes by the room document's `version`
// without transactions (docs/design.md §8 allows single-document atomic writes only):
//
//   1. read the room and its members (the instance's copy of that memberVersion);
//   2. let the use case decide against them (or refuse with a typed error);
//   3. claim the room: a conditional write on `version` that also raises memberVersion
//      and marks a change as under way (membershipChangeUntil). Of two changes decided
//      against the same version only one claims it; the other reads again and decides
//      again, so two owners demoting each other at once leave one owner, and a ban
//      racing a join either sees the member (and removes them) or is seen by the join;
//   4. write the room_members rows;
//   5. finish: raise memberVersion again, store the room's own fields and count, clear
//      the mark and store the conversation_updated event in the same write (outbox).
//
// Readers that meet the mark read the rows but keep no copy (they may be half
// written); the second raise makes every instance's copy of the claimed version
// stale. A change that dies between 3 and 5 leaves the mark, which the next change
// takes over once it has expired (its rows are whatever got written; its event is lost).
import type { ConversationMember, MemberChange, ParleyEvent } from '@parley/contracts';
import { DependencyUnavailableError } from '@parley/server-kit';
import type { AnyBulkWriteOperation, UpdateFilter } from 'mongodb';
import type { ChatServices } from '../chat-services';
import { requireVisibleRoom } from '../conversations/conversation-access';
import {
  CONVERSATIONS_COLLECTION,
  type ConversationDoc,
} from '../conversations/conversation-store';
import { conversationUpdatedEvent } from '../outbox/chat-events';
import { withOutbox } from '../outbox/outbox';
import { backoff, isDuplicateKeyError } from '../storage/retry-backoff';
import { roomMemberKey, type RoomMemberDoc } from './room-member-store';

/** How long a claimed change may take before another change takes it over. */
export const MEMBERSHIP_CHANGE_TIMEOUT_MS = 5_000;

export interface RoomChange {
  add?: Array<Pick<RoomMemberDoc, 'userId' | 'username' | 'role'>>;
  remove?: string[];
  roles?: Array<{ userId: string; role: RoomMemberDoc['role'] }>;
  /** The room's own fields. */
  set?: Partial<Pick<ConversationDoc, 'name' | 'description' | 'isPrivate'>>;
}

export interface RoomChangeResult {
  /** The room after the change, members filled in. */
  doc: ConversationDoc;
  changed: boolean;
}

function membersAfter(room: ConversationDoc, change: RoomChange): ConversationMember[] {
  const removed = new Set(change.remove ?? []);
  const roles = new Map((change.roles ?? []).map((r) => [r.userId, r.role]));
  const kept = room.members
    .filter((m) => !removed.has(m.id))
    .map((m) => ({ ...m, ...(roles.has(m.id) ? { role: roles.get(m.id) } : {}) }));
  const present = new Set(kept.map((m) => m.id));
  for (const added of change.add ?? []) {
    if (present.has(added.userId)) continue;
    present.add(added.userId);
    kept.push({ id: added.userId, username: added.username, role: added.role });
  }
  return kept;
}

/** What the change did to the members, for conversation_updated; undefined when nothing. */
function memberChangeOf(
  before: ConversationDoc,
  after: readonly ConversationMember[],
  change: RoomChange,
): MemberChange | undefined {
  const beforeById = new Map(before.members.map((m) => [m.id, m]));
  const afterById = new Map(after.map((m) => [m.id, m]));
  const pick = (ids: readonly string[], from: ReadonlyMap<string, ConversationMember>) =>
    ids.flatMap((id) => {
      const m = from.get(id);
      return m ? [m] : [];
    });
  const added = pick(
    (change.add ?? []).map((m) => m.userId).filter((id) => !beforeById.has(id)),
    afterById,
  );
  const removed = pick(change.remove ?? [], beforeById).map((m) => ({
    id: m.id,
    username: m.username,
  }));
  const roleChanged = pick(
    (change.roles ?? []).map((r) => r.userId),
    afterById,
  ).filter((m) => beforeById.get(m.id)?.role !== m.role);
  const memberChange: MemberChange = {
    ...(added.length > 0 ? { added } : {}),
    ...(removed.length > 0 ? { removed } : {}),
    ...(roleChanged.length > 0 ? { roleChanged } : {}),
  };
  return Object.keys(memberChange).length > 0 ? memberChange : undefined;
}

export async function changeRoom(
  services: ChatServices,
  roomId: string,
  /** Who asks: a room they may not see is 404 before anything else. */
  callerId: string,
  decide: (room: ConversationDoc) => Promise<RoomChange | undefined> | RoomChange | undefined,
): Promise<RoomChangeResult> {
  const conversations = services.conversations;
  const rows = conversations.roomMembers.collection;
  for (let attempt = 0; attempt < 40; attempt++) {
    // findById reads the same whatever the id names (an outsider learns nothing);
    // the members it brings are not ordered against a change in between, so the
    // decision reads them again after the document (withMembers)
    const stored = requireVisibleRoom(await conversations.findById(roomId), callerId);
    const pendingUntil = stored.membershipChangeUntil;
    if (pendingUntil && pendingUntil.getTime() > services.now().getTime()) {
      await backoff(attempt);
      continue;
    }
    const room = await conversations.withMembers(stored);
    const change = await decide(room);
    if (!change) return { doc: room, changed: false };

    const memberVersion = (stored.memberVersion ?? 0) + 1;
    const claimed = await conversations.collection.updateOne(
      { _id: roomId, version: stored.version },
      {
        $set: {
          version: stored.version + 1,
          memberVersion,
          membershipChangeUntil: new Date(services.now().getTime() + MEMBERSHIP_CHANGE_TIMEOUT_MS),
        },
      },
    );
    if (claimed.matchedCount !== 1) {
      await backoff(attempt);
      continue;
    }
    conversations.forget(roomId);
    await services.roomChangeHooks.afterClaim?.(roomId);

    const at = services.now();
    const ops: AnyBulkWriteOperation<RoomMemberDoc>[] = [];
    for (const userId of change.remove ?? []) {
      ops.push({ deleteOne: { filter: { _id: roomMemberKey(roomId, userId) } } });
    }
    for (const { userId, role } of change.roles ?? []) {
      ops.push({
        updateOne: { filter: { _id: roomMemberKey(roomId, userId) }, update: { $set: { role } } },
      });
    }
    for (const m of change.add ?? []) {
      ops.push({
        insertOne: {
          document: { _id: roomMemberKey(roomId, m.userId), roomId, joinedAt: at, ...m },
        },
      });
    }
    if (ops.length > 0) {
      try {
        await rows.bulkWrite(ops, { ordered: false });
      } catch (err) {
        // an add of someone already there (a change that died half way) is done already
        if (!isDuplicateKeyError(err)) throw err;
      }
    }

    const members = membersAfter(room, change);
    const after: ConversationDoc = {
      ...room,
      ...change.set,
      members,
      memberIds: members.map((m) => m.id),
      memberCount: members.length,
      memberVersion: memberVersion + 1,
      version: stored.version + 2,
      updatedAt: at,
    };
    delete after.membershipChangeUntil;
    const events: ParleyEvent[] = [
      conversationUpdatedEvent(
        after,
        room.memberIds,
        services.roomMembersInlineMax,
        memberChangeOf(room, members, change),
      ),
    ];
    const finished = await conversations.collection.updateOne(
      { _id: roomId, version: stored.version + 1 },
      withOutbox(
        {
          $set: {
            ...change.set,
            memberCount: after.memberCount,
            memberVersion: after.memberVersion,
            version: after.version,
            updatedAt: at,
          },
          $unset: { membershipChangeUntil: '' },
        },
        events,
        at,
      ) as UpdateFilter<ConversationDoc>,
    );
    conversations.forget(roomId);
    if (finished.matchedCount !== 1) {
      // another change took this one over after MEMBERSHIP_CHANGE_TIMEOUT_MS
      throw new DependencyUnavailableError('The room change took too long; try again');
    }
    services.outbox.dispatch(CONVERSATIONS_COLLECTION, roomId, events);
    return { doc: after, changed: true };
  }
  throw new DependencyUnavailableError('The room change kept conflicting with others; try again');
}
