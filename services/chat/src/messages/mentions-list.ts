// GET /chat/mentions: the messages that mention the caller, newest first, across the
// conversations they are in now (a room they left keeps its messages to itself).
// One indexed query for the page ({mentionIds, _id}), one for the membership of the
// page's conversations; `before` is the id of the last message of the previous page.
import type { MentionsQuery, MentionsResponse } from '@parley/contracts';
import { ValidationError, type Principal } from '@parley/server-kit';
import type { ChatServices } from '../chat-services';
import { memberConversations } from '../conversations/conversation-access';
import { parseMessageId, toMessage } from './message-store';

export async function listMentions(
  services: ChatServices,
  caller: Principal,
  query: MentionsQuery,
): Promise<MentionsResponse> {
  const before = query.before === undefined ? undefined : parseMessageId(query.before);
  if (query.before !== undefined && !before) {
    throw new ValidationError(
      [{ path: 'before', message: 'not a message id' }],
      'The request query is not valid',
    );
  }
  const docs = await services.messages.mentioning(caller.userId, {
    ...(before ? { before } : {}),
    limit: query.limit + 1,
  });
  const page = docs.slice(0, query.limit);
  const mine = new Set(
    (
      await memberConversations(services.conversations, caller.userId, [
        ...new Set(page.map((d) => d.conversationId)),
      ])
    ).map((c) => c._id),
  );
  return {
    // a mention edited away leaves the index with the edit; a deleted message has none
    messages: page.filter((d) => mine.has(d.conversationId)).map(toMessage),
    hasMore: docs.length > query.limit,
  };
}
