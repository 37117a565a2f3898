// POST /chat/typing: not stored (docs/design.md §5), so not in the outbox either. It is
// sent best effort and the answer is 204 even when RabbitMQ is down: a typing
// indicator delivered late is worse than none, and the next keystroke sends another.
import type { Principal } from '@parley/server-kit';
import { typingEvent } from '../outbox/chat-events';
import type { ChatServices } from '../chat-services';
import { requireMemberRecently } from './conversation-access';
import { userRefOf } from '../messages/send-message';

export async function announceTyping(
  services: ChatServices,
  caller: Principal,
  conversationId: string,
  isTyping: boolean,
): Promise<void> {
  const conversation = await requireMemberRecently(
    services.conversations,
    conversationId,
    caller.userId,
  );
  services.outbox.publishEphemeral(typingEvent(conversation, userRefOf(caller), isTyping));
}
