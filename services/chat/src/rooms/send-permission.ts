// Who may write to a conversation by id (POST /chat/send, docs/design.md §10): its
// members, from the instance's recent copy of the conversation and of the room's
// member list at its memberVersion (no read of the member list per send); refused
// only after a fresh read. A refused sender who is banned from the room gets 403
// banned; the ban is looked up on every refusal, whether the id exists or not, so
// the answer takes as long for an unknown id as for a private room. In a direct
// conversation the other member's block refuses with 403 blocked.
import { ForbiddenError, NotFoundError } from '@parley/server-kit';
import type { ChatServices } from '../chat-services';
import { requireMemberRecently } from '../conversations/conversation-access';
import type { ConversationDoc } from '../conversations/conversation-store';
import { requireNotBlockedBy } from '../blocks/blocks';

export async function requireSenderIn(
  services: ChatServices,
  conversationId: string,
  userId: string,
): Promise<ConversationDoc> {
  let conversation: ConversationDoc;
  try {
    conversation = await requireMemberRecently(services.conversations, conversationId, userId);
  } catch (err) {
    if (!(err instanceof ForbiddenError || err instanceof NotFoundError)) throw err;
    if (await services.roomBans.isBanned(conversationId, userId)) {
      throw new ForbiddenError('You are banned from this room', { code: 'banned' });
    }
    throw err;
  }
  if (conversation.kind === 'direct') {
    const peer = conversation.memberIds.find((id) => id !== userId);
    if (peer !== undefined) await requireNotBlockedBy(services, peer, userId);
  }
  return conversation;
}
