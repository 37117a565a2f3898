// Rooms: created with initial members (by username), public ones listed for everyone
// and joinable by anyone, private ones invisible (404) to non-members. Any member may
// invite into a room (public or private); a non-member of a public room gets 403
// not_a_member. Joining twice, or inviting a member, changes nothing and emits
// nothing. A room holds at most ROOM_MAX_MEMBERS (409 room_full past it), and each
// user added by someone else — invited, or named when the room is created — counts
// against the adder's invitation limit (docs/design.md §4.14).
//
// Roles (docs/design.md §10): the creator is the owner; owners set roles; owners and
// admins edit the room, remove and ban members (an admin only plain members) and
// delete any message in it. A room always keeps an owner. Every change goes through
// changeRoom (membership-change.ts), which emits conversation_updated to the members
// before and after it.
import type {
  Conversation,
  RoomBan,
  RoomMembersQuery,
  RoomMembersResponse,
  RoomRole,
  UserRef,
  createRoomRequestSchema,
  updateRoomRequestSchema,
} from '@parley/contracts';
import type { z } from 'zod';
import { ConflictError, ForbiddenError, NotFoundError, type Principal } from '@parley/server-kit';
import { conversationUpdatedEvent } from '../outbox/chat-events';
import type { ChatServices } from '../chat-services';
import { isMember, requireMember, requireVisibleRoom } from '../conversations/conversation-access';
import {
  CONVERSATIONS_COLLECTION,
  toConversation,
  type ConversationDoc,
  type MemberListView,
} from '../conversations/conversation-store';
import { resolveDirectPeer, userRefOf } from '../user-refs';
import { changeRoom, type RoomChange } from './membership-change';
import { ROLE_RANK } from './room-member-store';

/**
 * How answers to `userId` list a room's members: a room past ROOM_MEMBERS_INLINE_MAX
 * lists the caller and the users the request is about first, then owners and admins.
 */
export function memberViewFor(
  services: Pick<ChatServices, 'roomMembersInlineMax'>,
  userId: string,
  ...about: string[]
): MemberListView {
  return { inlineMax: services.roomMembersInlineMax, first: [userId, ...about] };
}

/** GET /chat/rooms answers at most this many rooms, newest activity first. */
export const ROOMS_LIST_MAX = 500;

type CreateRoomInput = z.output<typeof createRoomRequestSchema>;
type UpdateRoomInput = z.output<typeof updateRoomRequestSchema>;

function roomFull(max: number): ConflictError {
  return new ConflictError(`A room may have at most ${max} members`, { code: 'room_full' });
}

function banned(): ForbiddenError {
  return new ForbiddenError('This user is banned from this room', { code: 'banned' });
}

function notAllowed(detail: string): ForbiddenError {
  return new ForbiddenError(detail, { code: 'forbidden' });
}

function noSuchMember(): NotFoundError {
  return new NotFoundError('No such member in this room', { code: 'user_not_found' });
}

function roleOf(room: ConversationDoc, userId: string): RoomRole | undefined {
  return room.members.find((m) => m.id === userId)?.role;
}

/**
 * The caller's role in a visible room, refused unless it is at least `minRole`:
 * 404 conversation_not_found for a room they may not see, 403 not_a_member for a
 * public room they are not in, 403 forbidden for too low a role.
 */
export function requireRoleIn(
  room: ConversationDoc | null,
  userId: string,
  minRole: RoomRole,
): RoomRole {
  const visible = requireMember(requireVisibleRoom(room, userId), userId);
  const role = roleOf(visible, userId) ?? 'member';
  if (ROLE_RANK[role] < ROLE_RANK[minRole]) {
    throw notAllowed(`Only a room ${minRole}${minRole === 'owner' ? '' : ' or owner'} may do this`);
  }
  return role;
}

/**
 * For other features that need a role (e.g. registering a room's webhook): the
 * caller's role in the room if it is at least `minRole`, else the errors of
 * requireRoleIn. Two point reads (the room's document and the caller's member row),
 * never the member list.
 */
export async function requireRoomRole(
  services: ChatServices,
  roomId: string,
  userId: string,
  minRole: RoomRole,
): Promise<RoomRole> {
  const view = await services.conversations.findWithMember(roomId, userId);
  return requireRoleIn(view, userId, minRole);
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
    (room) => [conversationUpdatedEvent(room, [], services.roomMembersInlineMax)],
  );
  services.outbox.dispatch(CONVERSATIONS_COLLECTION, doc._id, events);
  return toConversation(doc, memberViewFor(services, caller.userId));
}

export async function listRooms(
  services: ChatServices,
  caller: Principal,
): Promise<Conversation[]> {
  const rooms = await services.conversations.listRooms(caller.userId, ROOMS_LIST_MAX);
  const view = memberViewFor(services, caller.userId);
  return rooms.map((room) => toConversation(room, view));
}

export async function getRoom(
  services: ChatServices,
  caller: Principal,
  id: string,
): Promise<Conversation> {
  return toConversation(
    requireVisibleRoom(await services.conversations.findById(id), caller.userId),
    memberViewFor(services, caller.userId),
  );
}

/**
 * GET /chat/rooms/:id/members: a page of the members ordered by user id, visible as
 * getRoom is. Two point reads decide that (the room's document and the caller's row,
 * both made whatever the id names, so a private room costs an outsider what an unknown
 * id does), never the whole list; then one range of limit + 1 rows. `nextCursor` is
 * the last user id of a page that has a next one.
 */
export async function listRoomMembers(
  services: ChatServices,
  caller: Principal,
  id: string,
  query: RoomMembersQuery,
): Promise<RoomMembersResponse> {
  requireVisibleRoom(await services.conversations.findWithMember(id, caller.userId), caller.userId);
  const rows = await services.conversations.roomMembers.page(id, query.after, query.limit + 1);
  const page = rows.slice(0, query.limit);
  const response: RoomMembersResponse = {
    members: page.map((r) => ({ id: r.userId, username: r.username, role: r.role })),
  };
  const last = page.at(-1);
  if (rows.length > query.limit && last) response.nextCursor = last.userId;
  return response;
}

/** Throws 409 room_full when the room cannot take one more member. */
function requireRoomFor(services: ChatServices, room: ConversationDoc): void {
  if ((room.memberCount ?? room.memberIds.length) >= services.roomMaxMembers) {
    throw roomFull(services.roomMaxMembers);
  }
}

async function requireNotBanned(
  services: ChatServices,
  roomId: string,
  userId: string,
): Promise<void> {
  if (await services.roomBans.isBanned(roomId, userId)) throw banned();
}

export async function joinRoom(
  services: ChatServices,
  caller: Principal,
  id: string,
): Promise<Conversation> {
  const { doc } = await changeRoom(services, id, caller.userId, async (room) => {
    requireVisibleRoom(room, caller.userId);
    if (isMember(room, caller.userId)) return undefined;
    // requireVisibleRoom let a non-member through only for a public room
    await requireNotBanned(services, id, caller.userId);
    requireRoomFor(services, room);
    return { add: [{ userId: caller.userId, username: caller.username, role: 'member' }] };
  });
  return toConversation(doc, memberViewFor(services, caller.userId));
}

/** The last owner cannot go: `leaving` are the owners the change takes away. */
function requireOwnerLeft(room: ConversationDoc, leaving: readonly string[]): void {
  const owners = room.members.filter((m) => m.role === 'owner' && !leaving.includes(m.id));
  if (owners.length === 0) {
    throw notAllowed('A room must keep an owner: make another member owner first');
  }
}

export async function leaveRoom(
  services: ChatServices,
  caller: Principal,
  id: string,
): Promise<Conversation> {
  const { doc } = await changeRoom(services, id, caller.userId, (room) => {
    requireMember(requireVisibleRoom(room, caller.userId), caller.userId);
    requireOwnerLeft(room, [caller.userId]);
    return { remove: [caller.userId] };
  });
  return toConversation(doc, memberViewFor(services, caller.userId));
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
  const { doc } = await changeRoom(services, id, caller.userId, async (room) => {
    requireMember(requireVisibleRoom(room, caller.userId), caller.userId);
    if (isMember(room, user.id)) return undefined;
    await requireNotBanned(services, id, user.id);
    requireRoomFor(services, room);
    return { add: [{ userId: user.id, username: user.username, role: 'member' }] };
  });
  return toConversation(doc, memberViewFor(services, caller.userId, user.id));
}

export async function updateRoom(
  services: ChatServices,
  caller: Principal,
  id: string,
  input: UpdateRoomInput,
): Promise<Conversation> {
  const { doc } = await changeRoom(services, id, caller.userId, (room) => {
    requireRoleIn(room, caller.userId, 'admin');
    const set: RoomChange['set'] = {};
    if (input.name !== undefined && input.name !== room.name) set.name = input.name;
    if (input.description !== undefined && input.description !== room.description) {
      set.description = input.description;
    }
    if (input.isPrivate !== undefined && input.isPrivate !== room.isPrivate) {
      set.isPrivate = input.isPrivate;
    }
    return Object.keys(set).length > 0 ? { set } : undefined;
  });
  return toConversation(doc, memberViewFor(services, caller.userId));
}

/** Looks the target up in auth only after the caller proved a role in the room. */
async function targetOf(
  services: ChatServices,
  caller: Principal,
  id: string,
  username: string,
  minRole: RoomRole,
): Promise<UserRef> {
  requireRoleIn(await services.conversations.findById(id), caller.userId, minRole);
  return resolveDirectPeer(services, caller, username);
}

export async function setRoomRole(
  services: ChatServices,
  caller: Principal,
  id: string,
  username: string,
  role: RoomRole,
): Promise<Conversation> {
  const target = await targetOf(services, caller, id, username, 'owner');
  const { doc } = await changeRoom(services, id, caller.userId, (room) => {
    requireRoleIn(room, caller.userId, 'owner');
    const current = roleOf(room, target.id);
    if (current === undefined) throw noSuchMember();
    if (current === role) return undefined;
    if (current === 'owner') requireOwnerLeft(room, [target.id]);
    return { roles: [{ userId: target.id, role }] };
  });
  return toConversation(doc, memberViewFor(services, caller.userId, target.id));
}

/**
 * Whether the caller (of `callerRole`) may remove or ban the target: an admin only
 * plain members, an owner anyone (an owner removing another owner stays one).
 */
function requireOutranks(callerRole: RoomRole, targetRole: RoomRole | undefined): void {
  if (targetRole !== undefined && targetRole !== 'member' && callerRole !== 'owner') {
    throw notAllowed('Only an owner may remove or ban an admin or an owner');
  }
}

export async function removeRoomMember(
  services: ChatServices,
  caller: Principal,
  id: string,
  username: string,
): Promise<Conversation> {
  const target = await targetOf(services, caller, id, username, 'admin');
  if (target.id === caller.userId) return leaveRoom(services, caller, id);
  const { doc } = await changeRoom(services, id, caller.userId, (room) => {
    const callerRole = requireRoleIn(room, caller.userId, 'admin');
    const targetRole = roleOf(room, target.id);
    if (targetRole === undefined) throw noSuchMember();
    requireOutranks(callerRole, targetRole);
    return { remove: [target.id] };
  });
  return toConversation(doc, memberViewFor(services, caller.userId, target.id));
}

export async function banFromRoom(
  services: ChatServices,
  caller: Principal,
  id: string,
  username: string,
  reason: string | undefined,
): Promise<Conversation> {
  const target = await targetOf(services, caller, id, username, 'admin');
  if (target.id === caller.userId) throw notAllowed('You cannot ban yourself');
  const room = requireVisibleRoom(await services.conversations.findById(id), caller.userId);
  requireOutranks(requireRoleIn(room, caller.userId, 'admin'), roleOf(room, target.id));
  // the ban first, then the removal: a join or invitation deciding after this
  // write sees the ban; one that decided before it and claimed the room first is
  // undone by the change below, which always claims the room (membership-change.ts)
  await services.roomBans.put({
    roomId: id,
    userId: target.id,
    username: target.username,
    ...(reason !== undefined ? { reason } : {}),
    bannedBy: userRefOf(caller),
    bannedAt: services.now(),
  });
  const { doc } = await changeRoom(services, id, caller.userId, (current) => {
    const callerRole = requireRoleIn(current, caller.userId, 'admin');
    requireOutranks(callerRole, roleOf(current, target.id));
    return { remove: isMember(current, target.id) ? [target.id] : [] };
  });
  return toConversation(doc, memberViewFor(services, caller.userId, target.id));
}

export async function unbanFromRoom(
  services: ChatServices,
  caller: Principal,
  id: string,
  username: string,
): Promise<void> {
  const target = await targetOf(services, caller, id, username, 'admin');
  await services.roomBans.remove(id, target.id);
}

export async function listRoomBans(
  services: ChatServices,
  caller: Principal,
  id: string,
): Promise<RoomBan[]> {
  requireRoleIn(await services.conversations.findById(id), caller.userId, 'admin');
  const bans = await services.roomBans.list(id);
  return bans.map((b) => ({
    user: { id: b.userId, username: b.username },
    ...(b.reason !== undefined ? { reason: b.reason } : {}),
    bannedBy: b.bannedBy,
    bannedAt: b.bannedAt.toISOString(),
  }));
}
