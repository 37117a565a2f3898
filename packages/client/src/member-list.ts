// Member lists of large rooms (docs/design.md §4.2): a room past the server's
// ROOM_MEMBERS_INLINE_MAX carries a bounded `members` with `membersComplete: false`;
// `conversation_updated` then says in `memberChange` who came, went or changed role.
// These keep a client's copy right from those alone; the rest of the list is paged
// from GET /chat/rooms/:id/members (ParleyClient.roomMembers).
import type { Conversation, ConversationMember, MemberChange } from '@parley/contracts';

/** What a conversation_updated frame brings. */
export interface ConversationUpdate {
  conversation: Conversation;
  memberChange?: MemberChange | undefined;
}

/**
 * Whether the user is a member after an update they received. Its recipients are the
 * members before and after the change, so with a partial list everyone it reached is
 * a member unless the change removed them.
 */
export function isMemberAfter(update: ConversationUpdate, userId: string): boolean {
  const { conversation, memberChange } = update;
  if (conversation.members.some((m) => m.id === userId)) return true;
  return (
    conversation.membersComplete === false &&
    !(memberChange?.removed ?? []).some((m) => m.id === userId)
  );
}

/**
 * The conversation after an update, members merged: a complete list replaces what was
 * known; a partial one keeps the members known before (`previous`), drops the removed,
 * and takes the listed and changed members as they now are. The result stays partial.
 */
export function applyConversationUpdate(
  previous: Pick<Conversation, 'members'> | undefined,
  update: ConversationUpdate,
): Conversation {
  const { conversation, memberChange } = update;
  if (conversation.membersComplete !== false || previous === undefined) return conversation;
  const removed = new Set((memberChange?.removed ?? []).map((m) => m.id));
  const merged = new Map<string, ConversationMember>();
  for (const m of previous.members) if (!removed.has(m.id)) merged.set(m.id, m);
  for (const m of [
    ...(memberChange?.added ?? []),
    ...(memberChange?.roleChanged ?? []),
    ...conversation.members,
  ]) {
    merged.set(m.id, m);
  }
  return { ...conversation, members: [...merged.values()] };
}
