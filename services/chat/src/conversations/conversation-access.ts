// Who may see and touch a conversation (docs/design.md §4.4): members only; a non-member of
// a public room or direct conversation is told 403 not_a_member, while a private
// room does not exist for outsiders (404), so its id reveals nothing.
import { ForbiddenError, NotFoundError, type NotFoundCode } from '@parley/server-kit';
import type { ConversationDoc, ConversationStore } from './conversation-store';

export function isMember(conversation: ConversationDoc, userId: string): boolean {
  return conversation.memberIds.includes(userId);
}

/** A private room is invisible to non-members; everything else is visible. */
export function isVisibleTo(conversation: ConversationDoc, userId: string): boolean {
  return (
    !(conversation.kind === 'room' && conversation.isPrivate) || isMember(conversation, userId)
  );
}

/**
 * The conversation, if the user is a member. `notFound` is the code used when it
 * is missing or invisible: `message_not_found` when reached through a message.
 */
export function requireMember(
  conversation: ConversationDoc | null,
  userId: string,
  notFound: NotFoundCode = 'conversation_not_found',
): ConversationDoc {
  if (!conversation || !isVisibleTo(conversation, userId)) {
    throw new NotFoundError(
      notFound === 'message_not_found' ? 'No such message' : 'No such conversation',
      {
        code: notFound,
      },
    );
  }
  if (!isMember(conversation, userId)) {
    throw new ForbiddenError('You are not a member of this conversation', { code: 'not_a_member' });
  }
  return conversation;
}

/** A room visible to the user (any kind of member or a public room), else 404. */
export function requireVisibleRoom(
  conversation: ConversationDoc | null,
  userId: string,
): ConversationDoc {
  if (!conversation || conversation.kind !== 'room' || !isVisibleTo(conversation, userId)) {
    throw new NotFoundError('No such room', { code: 'conversation_not_found' });
  }
  return conversation;
}

/**
 * requireMember for the hot paths (send, typing), over the store's recent copy
 * (ConversationStore.findRecent): a cached membership is trusted, but only a fresh
 * read may refuse, since the caller may have joined since the copy was taken.
 */
export async function requireMemberRecently(
  conversations: ConversationStore,
  conversationId: string,
  userId: string,
): Promise<ConversationDoc> {
  const recent = await conversations.findRecent(conversationId);
  if (recent && isMember(recent, userId)) return recent;
  return requireMember(await conversations.findRecent(conversationId, { fresh: true }), userId);
}
