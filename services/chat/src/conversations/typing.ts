// POST /chat/typing: not stored (docs/design.md §5), so not in the outbox either. It is
// sent best effort and the answer is 204 even when RabbitMQ is down: a typing
// indicator delivered late is worse than none, and the next keystroke sends another.
// For the same reason one past the per-user limits (docs/design.md §4.14: at most one per user
// and conversation every TYPING_INTERVAL_MS reaches the others) is dropped with a 204,
// never refused: the user's budget over all conversations is checked before the
// membership lookup, so a flood costs no database read.
import type { Principal } from '@parley/server-kit';
import { typingEvent } from '../outbox/chat-events';
import type { ChatServices } from '../chat-services';
import { requireMemberRecently } from './conversation-access';
import { userRefOf } from '../user-refs';

export async function announceTyping(
  services: ChatServices,
  caller: Principal,
  conversationId: string,
  isTyping: boolean,
): Promise<void> {
  if (!services.limits.typingBudget(caller.userId)) return;
  const conversation = await requireMemberRecently(
    services.conversations,
    conversationId,
    caller.userId,
  );
  if (!services.limits.typingAllowed(caller.userId, conversation._id)) return;
  // docs/design.md §10: a blocked user's typing never reaches the blocker
  const blockers = await services.blocks.blockersAmong(caller.userId, conversation.memberIds);
  services.outbox.publishEphemeral(
    typingEvent(conversation, userRefOf(caller), isTyping, blockers),
  );
}
