// Reaching a message by id (edit, delete, reactions, replies): a malformed or unknown
// id, and a message in a direct conversation or private room the caller is not in,
// all get the same 404 message_not_found after the same two reads, so an outsider
// learns nothing from the answer or its time; a message in a public room the caller
// is not in is 403 not_a_member (docs/design.md §4.4).
import type { Principal } from '@parley/server-kit';
import type { ChatServices } from '../chat-services';
import { notFound, requireMember } from '../conversations/conversation-access';
import type { ConversationDoc } from '../conversations/conversation-store';
import type { MessageDoc } from './message-store';

/** No conversation has this id: what an unknown message's lookup reads. */
const NO_CONVERSATION = '';

export async function requireMessageForMember(
  services: ChatServices,
  caller: Principal,
  messageId: string,
): Promise<{ message: MessageDoc; conversation: ConversationDoc }> {
  const message = await services.messages.findById(messageId);
  const conversation = await services.conversations.findById(
    message?.conversationId ?? NO_CONVERSATION,
  );
  if (!message) throw notFound('message_not_found');
  return {
    message,
    conversation: requireMember(conversation, caller.userId, 'message_not_found'),
  };
}
