// POST /chat/sync, what a websocket `resume` asks: for up to RESUME_MAX_CONVERSATIONS
// conversations at once, every message after the seq the client saw, up to
// RESUME_MESSAGE_BOUND in all. The ids are checked against the caller's conversations
// in one query; the others — unknown, or someone else's — come back in `notFound`,
// alike. Then one indexed page read per conversation of the caller's, in the order
// named; once the bound is spent, a read of one message tells whether a conversation
// still has more (the client pages those with /chat/history?after=).
import { RESUME_MESSAGE_BOUND, type SyncRequest, type SyncResponse } from '@parley/contracts';
import type { Principal } from '@parley/server-kit';
import type { ChatServices } from '../chat-services';
import { memberConversations } from '../conversations/conversation-access';
import { toConversationRef } from '../conversations/conversation-store';
import { toMessage } from './message-store';

export async function syncConversations(
  services: ChatServices,
  caller: Principal,
  request: SyncRequest,
  bound = RESUME_MESSAGE_BOUND,
): Promise<SyncResponse> {
  const named = Object.entries(request.conversations);
  const mine = new Map(
    (
      await memberConversations(
        services.conversations,
        caller.userId,
        named.map(([id]) => id),
      )
    ).map((c) => [c._id, c]),
  );
  const response: SyncResponse = { conversations: [], notFound: [], complete: true };
  let budget = bound;
  for (const [id, lastSeen] of named) {
    const conversation = mine.get(id);
    if (!conversation) {
      response.notFound.push(id);
      continue;
    }
    const page = await services.messages.page(id, { after: lastSeen, limit: Math.max(1, budget) });
    const messages = budget > 0 ? page.docs.map(toMessage) : [];
    const hasMore = budget > 0 ? page.hasMore : page.docs.length > 0;
    budget -= messages.length;
    if (hasMore) response.complete = false;
    response.conversations.push({
      conversation: toConversationRef(conversation),
      messages,
      hasMore,
    });
  }
  return response;
}
