// The events of docs/design.md §5 that chat emits, each with its recipients, built in one
// place with the contracts' createEvent so data and recipients never drift apart.
import {
  createEvent,
  type Conversation,
  type EventOf,
  type Message,
  type MessageEdit,
  type ReactionChange,
  type UserRef,
} from '@parley/contracts';
import {
  toConversation,
  toConversationRef,
  type ConversationDoc,
} from '../conversations/conversation-store';

export function newMessageEvent(
  message: Message,
  conversation: ConversationDoc,
): EventOf<'new_message'> {
  // the sender too: their other devices show the message
  return createEvent('new_message', { message, conversation: toConversationRef(conversation) }, [
    ...conversation.memberIds,
  ]);
}

/** An edit or a delete: the fields it changed, never the reactions (docs/design.md §4.8). */
export function messageUpdatedEvent(
  message: Message,
  conversation: ConversationDoc,
): EventOf<'message_updated'> {
  const edit: MessageEdit = {
    id: message.id,
    conversationId: message.conversationId,
    seq: message.seq,
    text: message.text,
  };
  if (message.mentions !== undefined) edit.mentions = message.mentions;
  if (message.editedAt !== undefined) edit.editedAt = message.editedAt;
  if (message.deletedAt !== undefined) edit.deletedAt = message.deletedAt;
  return createEvent('message_updated', { message: edit }, [...conversation.memberIds]);
}

/** One reaction added or removed. */
export function reactionEvent(
  change: ReactionChange,
  conversation: ConversationDoc,
): EventOf<'reaction'> {
  return createEvent('reaction', change, [...conversation.memberIds]);
}

export function readEvent(
  conversation: ConversationDoc,
  userId: string,
  seq: number,
): EventOf<'read'> {
  return createEvent('read', { conversationId: conversation._id, userId, seq }, [
    ...conversation.memberIds,
  ]);
}

/** To the members but the typist, and but those who block the typist. */
export function typingEvent(
  conversation: ConversationDoc,
  user: UserRef,
  isTyping: boolean,
  blockers: ReadonlySet<string> = new Set(),
): EventOf<'typing'> {
  return createEvent(
    'typing',
    { conversationId: conversation._id, user, isTyping },
    conversation.memberIds.filter((id) => id !== user.id && !blockers.has(id)),
  );
}

/** To the members before and after the change, so a leaver and a newcomer both learn it. */
export function conversationUpdatedEvent(
  after: ConversationDoc,
  membersBefore: readonly string[],
): EventOf<'conversation_updated'> {
  const conversation: Conversation = toConversation(after);
  const recipients = [...new Set([...membersBefore, ...after.memberIds])];
  return createEvent('conversation_updated', { conversation }, recipients);
}
