// Rooms: the directory, creating, joining, leaving and inviting, and their moderation
// (§10.4): the answer to a change is the room as it now is, applied at once.
import type { ConversationMember, RoomBan, UserRef } from '@parley/contracts';
import { signal } from '@preact/signals';
import { withHistoryPage } from '../../model/message-timeline';
import { roleSetBy, type ModerationAction } from '../../model/room-roles';
import type { ChatConversations } from './conversations';
import type { ConversationView } from './conversation-view';
import type { ChatState } from './shared-state';

export type ChatRooms = ReturnType<typeof createChatRooms>;

export function createChatRooms(state: ChatState, list: ChatConversations, view: ConversationView) {
  const { client, rooms, live, later, showNotice, updateTimeline } = state;
  const { upsertConversation, leaving, forgetConversation } = list;
  const { openConversation } = view;
  /** The bans of rooms I moderate, loaded when their member list is shown. */
  const bans = signal<Readonly<Record<string, readonly RoomBan[]>>>({});

  async function loadRooms(): Promise<void> {
    try {
      rooms.value = await client.listRooms();
    } catch (error) {
      showNotice(error, 'Could not list rooms');
    }
  }

  async function createRoom(name: string, isPrivate: boolean): Promise<void> {
    const conversation = await client.createRoom({ name, isPrivate });
    live.rt?.track(conversation.id, conversation.lastSeq);
    upsertConversation(conversation);
    updateTimeline(conversation.id, (t) =>
      withHistoryPage(t, { messages: [], hasMore: false }, 'latest'),
    );
    openConversation(conversation.id);
  }

  async function joinRoom(id: string): Promise<void> {
    try {
      const conversation = await client.joinRoom(id);
      if (live.rt?.lastSeenSeq(id) === undefined) live.rt?.track(id, conversation.lastSeq);
      upsertConversation(conversation);
      openConversation(id);
    } catch (error) {
      showNotice(error, 'Could not join the room');
    }
  }

  async function leaveRoom(id: string): Promise<void> {
    leaving.add(id);
    try {
      await client.leaveRoom(id);
      forgetConversation(id);
    } catch (error) {
      showNotice(error, 'Could not leave the room');
    } finally {
      // The event may come before or after the answer; a later removal must be told.
      later(5_000, () => leaving.delete(id));
    }
  }

  // ---- room moderation (§10.4): the answer is the room as it now is ----

  /** A role change, removal or ban of a member; the room's new state is applied at once. */
  async function moderate(
    roomId: string,
    member: ConversationMember,
    action: ModerationAction,
  ): Promise<void> {
    const role = roleSetBy(action);
    try {
      const room =
        role !== undefined
          ? await client.setRoomRole(roomId, member.username, role)
          : action === 'remove'
            ? await client.removeRoomMember(roomId, member.username)
            : await client.ban(roomId, member.username);
      upsertConversation(room);
      if (action === 'ban') void loadBans(roomId);
    } catch (error) {
      showNotice(error, `Could not ${action.replace('-', ' ')} @${member.username}`);
    }
  }

  /** A room's bans, newest first (owners and admins only: others are refused, and see none). */
  async function loadBans(roomId: string): Promise<void> {
    try {
      const list = await client.roomBans(roomId);
      bans.value = { ...bans.value, [roomId]: list };
    } catch {
      // not a moderator (any more): the list stays as it was
    }
  }

  async function unban(roomId: string, user: UserRef): Promise<void> {
    try {
      await client.unban(roomId, user.username);
      bans.value = {
        ...bans.value,
        [roomId]: (bans.value[roomId] ?? []).filter((b) => b.user.id !== user.id),
      };
    } catch (error) {
      showNotice(error, `Could not lift the ban on @${user.username}`);
    }
  }

  /** Name, description and privacy (owners and admins); throws for the form to show. */
  async function updateRoom(
    roomId: string,
    change: { name?: string; description?: string; isPrivate?: boolean },
  ): Promise<void> {
    upsertConversation(await client.updateRoom(roomId, change));
  }

  /** Where paging a large room's members goes on: a cursor, or null when all were read. */
  const memberCursors = new Map<string, string | null>();

  /**
   * The next page of a room whose list is partial (`membersComplete: false`, §4.2),
   * merged into what is known; after the last page it starts over (the list may have
   * been replaced by a refresh meanwhile).
   */
  async function loadMoreMembers(roomId: string): Promise<void> {
    const after = memberCursors.get(roomId) ?? undefined;
    try {
      const page = await client.roomMembers(roomId, after === undefined ? {} : { after });
      memberCursors.set(roomId, page.nextCursor ?? null);
      const current = state.conversationsById.value[roomId];
      if (current !== undefined) upsertConversation({ ...current, members: page.members });
    } catch (error) {
      showNotice(error, 'Could not load the members');
    }
  }

  async function invite(roomId: string, username: string): Promise<void> {
    upsertConversation(await client.invite(roomId, username.trim().toLowerCase()));
  }

  return {
    bans,
    loadRooms,
    createRoom,
    joinRoom,
    leaveRoom,
    invite,
    moderate,
    loadBans,
    loadMoreMembers,
    unban,
    updateRoom,
  };
}
