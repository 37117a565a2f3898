// The events of docs/design.md §5 that chat emits, each with its recipients, built in one
// place with the contracts' createEvent so data and recipients never drift apart.
import { createHash } from 'node:crypto';
import {
  createEvent,
  type Conversation,
  type EventOf,
  type MemberChange,
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

/**
 * The id of a message's new_message event, the same every time it is derived: the
 * relay republishes a tail of stored messages at least once (message-relay.ts), and
 * websocket and clients recognise the second copy by this id. A UUID (version 5
 * layout) made from the message id.
 */
export function newMessageEventId(messageId: string): string {
  const bytes = createHash('sha256').update(`parley:new_message:${messageId}`).digest();
  bytes[6] = (bytes[6]! & 0x0f) | 0x50;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = bytes.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** Derived from the stored message alone (id and time included), so it can be rebuilt. */
export function newMessageEvent(
  message: Message,
  conversation: Pick<ConversationDoc, '_id' | 'kind' | 'name' | 'memberIds'>,
): EventOf<'new_message'> {
  // the sender too: their other devices show the message
  return createEvent(
    'new_message',
    { message, conversation: toConversationRef(conversation) },
    [...conversation.memberIds],
    { id: newMessageEventId(message.id), occurredAt: new Date(message.createdAt) },
  );
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

/**
 * To the members before and after the change, so a leaver and a newcomer both learn it.
 * A room past `inlineMax` members lists the users the change is about, then its owners
 * and admins (docs/design.md §4.2); `memberChange` says who came, went or changed role,
 * so a client keeps its partial list right without paging the room again.
 */
export function conversationUpdatedEvent(
  after: ConversationDoc,
  membersBefore: readonly string[],
  inlineMax: number,
  memberChange?: MemberChange,
): EventOf<'conversation_updated'> {
  const about = [...(memberChange?.added ?? []), ...(memberChange?.roleChanged ?? [])];
  const conversation: Conversation = toConversation(after, {
    inlineMax,
    first: about.map((m) => m.id),
  });
  const recipients = [...new Set([...membersBefore, ...after.memberIds])];
  return createEvent(
    'conversation_updated',
    { conversation, ...(memberChange ? { memberChange } : {}) },
    recipients,
  );
}
