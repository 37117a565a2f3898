// Who may see and touch a conversation (docs/design.md §4.4). Members only; of the others,
// only a public room is visible: reading or writing it is 403 not_a_member. A direct
// conversation or a private room does not exist for outsiders: they get the very
// answer an unknown id gets (404 conversation_not_found, same detail, after the same
// one read), so nobody can probe who talks to whom, or which private rooms exist.
import { ForbiddenError, NotFoundError, type NotFoundCode } from '@parley/server-kit';
import type { ConversationDoc, ConversationStore } from './conversation-store';

export function isMember(conversation: ConversationDoc, userId: string): boolean {
  return conversation.memberIds.includes(userId);
}

/** Only a public room is visible to non-members. */
export function isVisibleTo(conversation: ConversationDoc, userId: string): boolean {
  return (
    (conversation.kind === 'room' && !conversation.isPrivate) || isMember(conversation, userId)
  );
}

/**
 * The one 404 for a conversation that does not exist or is invisible to the caller
 * (and, with `message_not_found`, for a message in one): the same body either way.
 */
export function notFound(code: NotFoundCode = 'conversation_not_found'): NotFoundError {
  return new NotFoundError(
    code === 'message_not_found' ? 'No such message' : 'No such conversation',
    {
      code,
    },
  );
}

/**
 * The conversation, if the user is a member. `code` is the 404 used when it is missing
 * or invisible: `message_not_found` when reached through a message.
 */
export function requireMember(
  conversation: ConversationDoc | null,
  userId: string,
  code: NotFoundCode = 'conversation_not_found',
): ConversationDoc {
  if (!conversation || !isVisibleTo(conversation, userId)) throw notFound(code);
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
    throw notFound();
  }
  return conversation;
}

/**
 * requireMember for the hot paths (send, typing), over the store's recent copy
 * (ConversationStore.findRecent), else the document read now with the members this
 * instance knows at its memberVersion (findCurrent): a membership found either way is
 * trusted, but only a fresh read may refuse, since the caller may have joined since.
 * Every refusal costs exactly the same reads (findCurrent's, then the fresh read's),
 * whether the id exists or not, so a cached conversation answers an outsider no
 * faster than an unknown id.
 */
export async function requireMemberRecently(
  conversations: ConversationStore,
  conversationId: string,
  userId: string,
): Promise<ConversationDoc> {
  const cached = conversations.cached(conversationId);
  if (cached && isMember(cached, userId)) return cached;
  // the small document alone, when this instance knows the room's members at its
  // version: a send never reads the member list while it has not changed
  const current = await conversations.findCurrent(conversationId);
  if (current && isMember(current, userId)) return current;
  return requireMember(await conversations.findRecent(conversationId, { fresh: true }), userId);
}

/**
 * Of the conversation ids given, those the user is a member of (id, kind and name),
 * found with one query; the others — unknown, or someone else's — are left out alike.
 */
export function memberConversations(
  conversations: ConversationStore,
  userId: string,
  ids: readonly string[],
): Promise<Pick<ConversationDoc, '_id' | 'kind' | 'name'>[]> {
  return conversations.findForMember(userId, ids);
}

/** Of the user ids given, those who share a conversation with the user (one query). */
export function usersSharingAConversation(
  conversations: ConversationStore,
  userId: string,
  candidates: readonly string[],
): Promise<string[]> {
  return conversations.membersSharedWith(userId, candidates);
}
