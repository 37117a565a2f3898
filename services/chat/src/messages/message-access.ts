// Reaching a message by id: a malformed or unknown id, or a message in a private room
// the caller is not in, is 404 message_not_found; any other conversation the caller
// is not in is 403 not_a_member.
import { NotFoundError, type Principal } from '@parley/server-kit';
import type { ChatServices } from '../chat-services';
import { requireMember } from '../conversations/conversation-access';
import type { ConversationDoc } from '../conversations/conversation-store';
import type { MessageDoc } from './message-store';

export async function requireMessageForMember(
  services: ChatServices,
  caller: Principal,
  messageId: string,
): Promise<{ message: MessageDoc; conversation: ConversationDoc }> {
  const message = await services.messages.findById(messageId);
  if (!message) throw new NotFoundError('No such message', { code: 'message_not_found' });
  const conversation = requireMember(
    await services.conversations.findById(message.conversationId),
    caller.userId,
    'message_not_found',
  );
  return { message, conversation };
}
