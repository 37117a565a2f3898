// Rooms: created with initial members (by username), public ones listed for everyone
// and joinable by anyone, private ones invisible (404) to non-members. Any member may
// invite into a room (public or private); a non-member of a public room gets 403
// not_a_member. Joining twice, or inviting a member, changes nothing and emits
// nothing. Every membership change emits conversation_updated to the members
// before and after it. A room holds at most ROOM_MAX_MEMBERS (409 room_full past it),
// and each user added by someone else — invited, or named when the room is created —
// counts against the adder's invitation limit (docs/design.md §4.14).
import type { Conversation, UserRef, createRoomRequestSchema } from '@parley/contracts';
import type { z } from 'zod';
import { ConflictError, type Principal } from '@parley/server-kit';
import { conversationUpdatedEvent } from '../outbox/chat-events';
import type { ChatServices } from '../chat-services';
import { isMember, requireMember, requireVisibleRoom } from '../conversations/conversation-access';
import {
  CONVERSATIONS_COLLECTION,
  toConversation,
  type ConversationDoc,
} from '../conversations/conversation-store';
import { userRefOf } from '../messages/send-message';

/** Members a room may have by default (ROOM_MAX_MEMBERS). */
export const DEFAULT_ROOM_MAX_MEMBERS = 10_000;

/** GET /chat/rooms answers at most this many rooms, newest activity first. */
export const ROOMS_LIST_MAX = 500;

type CreateRoomInput = z.output<typeof createRoomRequestSchema>;

function roomFull(max: number): ConflictError {
  return new ConflictError(`A room may have at most ${max} members`, { code: 'room_full' });
}

export async function createRoom(
  services: ChatServices,
  caller: Principal,
  input: CreateRoomInput,
): Promise<Conversation> {
  const me = userRefOf(caller);
  const others = [...new Set(input.members)].filter(
    (name) => name !== caller.username.toLowerCase(),
  );
  if (others.length + 1 > services.roomMaxMembers) throw roomFull(services.roomMaxMembers);
  await services.limits.takeAll([
    ['roomCreate', caller.userId, 1],
    ['invite', caller.userId, others.length],
  ]);
  const users = await Promise.all(
    others.map((name) => services.users.requireByUsername(name, caller.token)),
  );
  const members: UserRef[] = [me];
  for (const user of users) {
    if (!members.some((m) => m.id === user.id))
      members.push({ id: user.id, username: user.username });
  }
  const { doc, events } = await services.conversations.insertRoom(
    { name: input.name, isPrivate: input.isPrivate, members, createdBy: caller.userId },
    (room) => [conversationUpdatedEvent(room, [])],
  );
  services.outbox.dispatch(CONVERSATIONS_COLLECTION, doc._id, events);
  return toConversation(doc);
}

export async function listRooms(
  services: ChatServices,
  caller: Principal,
): Promise<Conversation[]> {
  const rooms = await services.conversations.listRooms(caller.userId, ROOMS_LIST_MAX);
  return rooms.map(toConversation);
}

export async function getRoom(
  services: ChatServices,
  caller: Principal,
  id: string,
): Promise<Conversation> {
  return toConversation(
    requireVisibleRoom(await services.conversations.findById(id), caller.userId),
  );
}

/** Throws 409 room_full when the room cannot take one more member. */
function requireRoomFor(services: ChatServices, room: ConversationDoc): void {
  if (room.memberIds.length >= services.roomMaxMembers) throw roomFull(services.roomMaxMembers);
}

async function changeMembers(
  services: ChatServices,
  caller: Principal,
  id: string,
  decide: (room: ConversationDoc) => UserRef[] | undefined,
): Promise<Conversation> {
  const result = await services.conversations.update(id, (current) => {
    const room = requireVisibleRoom(current, caller.userId);
    const members = decide(room);
    if (!members) return undefined;
    return {
      set: { members, memberIds: members.map((m) => m.id), updatedAt: services.now() },
      events: (after) => [conversationUpdatedEvent(after, room.memberIds)],
    };
  });
  services.outbox.dispatch(CONVERSATIONS_COLLECTION, id, result.events);
  return toConversation(result.doc);
}

export function joinRoom(
  services: ChatServices,
  caller: Principal,
  id: string,
): Promise<Conversation> {
  return changeMembers(services, caller, id, (room) => {
    if (isMember(room, caller.userId)) return undefined;
    // requireVisibleRoom let a non-member through only for a public room
    requireRoomFor(services, room);
    return [...room.members, userRefOf(caller)];
  });
}

export function leaveRoom(
  services: ChatServices,
  caller: Principal,
  id: string,
): Promise<Conversation> {
  return changeMembers(services, caller, id, (room) => {
    requireMember(room, caller.userId);
    return room.members.filter((m) => m.id !== caller.userId);
  });
}

export async function inviteToRoom(
  services: ChatServices,
  caller: Principal,
  id: string,
  username: string,
): Promise<Conversation> {
  // check the room before asking auth, so outsiders learn nothing about usernames
  requireMember(
    requireVisibleRoom(await services.conversations.findById(id), caller.userId),
    caller.userId,
  );
  const user = await services.users.requireByUsername(username, caller.token);
  return changeMembers(services, caller, id, (room) => {
    requireMember(room, caller.userId);
    if (isMember(room, user.id)) return undefined;
    requireRoomFor(services, room);
    return [...room.members, { id: user.id, username: user.username }];
  });
}
