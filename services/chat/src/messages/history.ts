// GET /chat/history and GET /chat/messages/:id/replies: pages in ascending seq, read
// straight from the {conversationId, seq} and thread indexes.
import type {
  HistoryQuery,
  HistoryResponse,
  RepliesQuery,
  RepliesResponse,
} from '@parley/contracts';
import type { Principal } from '@parley/server-kit';
import type { ChatServices } from '../chat-services';
import { requireMember } from '../conversations/conversation-access';
import {
  directConversationId,
  toConversationRef,
  type ConversationDoc,
} from '../conversations/conversation-store';
import { toMessage } from './message-store';
import { requireMessageForMember } from './message-access';
import { resolveDirectPeer } from '../user-refs';

export async function readHistory(
  services: ChatServices,
  caller: Principal,
  query: HistoryQuery,
): Promise<HistoryResponse> {
  let conversationId: string;
  let conversation: ConversationDoc;
  if (query.with !== undefined) {
    const peer = await resolveDirectPeer(services, caller, query.with);
    conversationId = directConversationId(caller.userId, peer.id);
    // not written to yet: an empty page under the id the first message will get
    const existing = await services.conversations.findById(conversationId);
    if (!existing) {
      return {
        conversationId,
        conversation: { id: conversationId, kind: 'direct' },
        messages: [],
        hasMore: false,
      };
    }
    conversation = existing;
  } else {
    conversationId = query.conversationId ?? '';
    conversation = requireMember(
      await services.conversations.findById(conversationId),
      caller.userId,
    );
  }
  const page = await services.messages.page(conversationId, {
    limit: query.limit,
    ...(query.before !== undefined ? { before: query.before } : {}),
    ...(query.after !== undefined ? { after: query.after } : {}),
  });
  return {
    conversationId,
    conversation: toConversationRef(conversation),
    messages: page.docs.map(toMessage),
    hasMore: page.hasMore,
  };
}

export async function readReplies(
  services: ChatServices,
  caller: Principal,
  messageId: string,
  query: RepliesQuery,
): Promise<RepliesResponse> {
  const { message } = await requireMessageForMember(services, caller, messageId);
  const page = await services.messages.replies(message.conversationId, message._id.toHexString(), {
    limit: query.limit,
    ...(query.after !== undefined ? { after: query.after } : {}),
  });
  return { messages: page.docs.map(toMessage), hasMore: page.hasMore };
}
