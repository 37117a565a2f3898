// PATCH and DELETE /chat/messages/:id. Only the sender edits; the sender, or an owner
// or admin of the message's room, deletes, and either way the message's files go with
// it (docs/design.md §11.4). A delete keeps a tombstone (same id and seq, text '',
// deletedAt, reactions, mentions and attachments cleared) so seqs stay contiguous; a
// deleted message can no longer be edited or reacted to (404 message_not_found), and
// deleting it again is a no-op 204 that emits nothing. A moderator deleting someone
// else's message spends the moderation limit as well as the edit one. An edit reads its mentions
// again (messages/mentions.ts).
import type { Message } from '@parley/contracts';
import { ForbiddenError, NotFoundError, type Principal } from '@parley/server-kit';
import { messageUpdatedEvent } from '../outbox/chat-events';
import type { ChatServices } from '../chat-services';
import { requireMessageForMember } from './message-access';
import { parseMentions } from './mentions';
import { ROLE_RANK } from '../rooms/room-member-store';
import type { ConversationDoc } from '../conversations/conversation-store';
import { MESSAGES_COLLECTION, toMessage, type MessageDoc } from './message-store';

function requireSender(doc: MessageDoc, caller: Principal): void {
  if (doc.senderId !== caller.userId) {
    throw new ForbiddenError('Only the sender can change this message', { code: 'forbidden' });
  }
}

/** The sender, or an owner or admin of the room the message is in. */
function requireMayDelete(doc: MessageDoc, conversation: ConversationDoc, caller: Principal): void {
  if (doc.senderId === caller.userId) return;
  const role = conversation.members.find((m) => m.id === caller.userId)?.role;
  if (conversation.kind === 'room' && role !== undefined && ROLE_RANK[role] >= ROLE_RANK.admin) {
    return;
  }
  throw new ForbiddenError('Only the sender or a room owner or admin can delete this message', {
    code: 'forbidden',
  });
}

function messageGone(): NotFoundError {
  return new NotFoundError('This message was deleted', { code: 'message_not_found' });
}

export async function editMessage(
  services: ChatServices,
  caller: Principal,
  messageId: string,
  text: string,
): Promise<Message> {
  const { message, conversation } = await requireMessageForMember(services, caller, messageId);
  const result = await services.messages.update(message._id, (current) => {
    requireSender(current, caller);
    if (current.deletedAt) throw messageGone();
    const mentions = parseMentions(text, conversation.members);
    return {
      set: { text, editedAt: services.now(), mentions, mentionIds: mentions.map((m) => m.id) },
      events: (after) => [messageUpdatedEvent(toMessage(after), conversation)],
    };
  });
  services.outbox.dispatch(MESSAGES_COLLECTION, message._id, result.events);
  return toMessage(result.doc);
}

export async function deleteMessage(
  services: ChatServices,
  caller: Principal,
  messageId: string,
): Promise<void> {
  const { message, conversation } = await requireMessageForMember(services, caller, messageId);
  if (message.senderId !== caller.userId) {
    // a moderator's delete: counted as moderation too (docs/design.md §4.14), once it is
    // known to be one, and before anything changes
    requireMayDelete(message, conversation, caller);
    services.limits.take('moderation', caller.userId);
  }
  const result = await services.messages.update(message._id, (current) => {
    requireMayDelete(current, conversation, caller);
    if (current.deletedAt) return undefined;
    return {
      set: {
        text: '',
        deletedAt: services.now(),
        reactions: [],
        mentions: [],
        mentionIds: [],
        attachments: [],
      },
      events: (after) => [messageUpdatedEvent(toMessage(after), conversation)],
    };
  });
  services.outbox.dispatch(MESSAGES_COLLECTION, message._id, result.events);
  // also on a repeated delete, so a delete retried after this failed still removes them
  await services.attachments.deleteForMessage(message._id.toHexString());
}
