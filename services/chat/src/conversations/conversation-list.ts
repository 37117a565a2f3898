// GET /chat/conversations: the caller's conversations, newest activity first, with
// the newest message, the read marker, the unread and mention counts and the mute.
// One query for the page, one for the markers, one for the mutes, one for the newest
// messages, and two indexed counts per conversation with unread messages
// ({conversationId, seq} range, other senders; {mentionIds} for the mentions). The cursor is opaque:
// base64url of the last item's (lastMessageAt, id).
import type {
  ConversationSummary,
  ConversationsQuery,
  ConversationsResponse,
} from '@parley/contracts';
import { ValidationError, type Principal } from '@parley/server-kit';
import type { ChatServices } from '../chat-services';
import { toConversation, type ListCursor } from './conversation-store';
import { toMessage } from '../messages/message-store';
import { memberViewFor } from '../rooms/rooms';

export function encodeCursor(cursor: ListCursor): string {
  return Buffer.from(JSON.stringify([cursor.lastMessageAt.getTime(), cursor.id])).toString(
    'base64url',
  );
}

export function decodeCursor(value: string): ListCursor {
  try {
    const decoded: unknown = JSON.parse(Buffer.from(value, 'base64url').toString('utf8'));
    if (Array.isArray(decoded) && decoded.length === 2) {
      const [time, id] = decoded as unknown[];
      if (
        typeof time === 'number' &&
        Number.isSafeInteger(time) &&
        time >= 0 &&
        typeof id === 'string' &&
        id.length <= 128
      ) {
        return { lastMessageAt: new Date(time), id };
      }
    }
  } catch {
    // fall through to the validation error
  }
  throw new ValidationError(
    [{ path: 'before', message: 'not a cursor this API returned' }],
    'The request query is not valid',
  );
}

export async function listConversations(
  services: ChatServices,
  caller: Principal,
  query: ConversationsQuery,
): Promise<ConversationsResponse> {
  const before = query.before === undefined ? undefined : decodeCursor(query.before);
  const docs = await services.conversations.listForMember(caller.userId, {
    limit: query.limit + 1,
    ...(before ? { before } : {}),
  });
  const page = docs.slice(0, query.limit);
  const ids = page.map((d) => d._id);
  const [markers, mutes, lastMessages] = await Promise.all([
    services.readMarkers.markersOf(caller.userId, ids),
    services.mutes.statesOf(caller.userId, ids, services.now()),
    services.messages.findBySeq(
      page.filter((d) => d.lastSeq > 0).map((d) => ({ conversationId: d._id, seq: d.lastSeq })),
    ),
  ]);
  const lastById = new Map(lastMessages.map((m) => [m.conversationId, m]));
  const conversations = await Promise.all(
    page.map(async (doc): Promise<ConversationSummary> => {
      const lastReadSeq = markers.get(doc._id) ?? 0;
      const [unreadCount, mentionCount] =
        doc.lastSeq > lastReadSeq
          ? await Promise.all([
              services.messages.countUnread(doc._id, caller.userId, lastReadSeq),
              services.messages.countMentions(doc._id, caller.userId, lastReadSeq),
            ])
          : [0, 0];
      const summary: ConversationSummary = {
        ...toConversation(doc, memberViewFor(services, caller.userId)),
        unreadCount,
        lastReadSeq,
        mentionCount,
        ...(mutes.get(doc._id) ?? { muted: false }),
      };
      const last = lastById.get(doc._id);
      if (last) summary.lastMessage = toMessage(last);
      return summary;
    }),
  );
  const response: ConversationsResponse = { conversations };
  const tail = page.at(-1);
  if (docs.length > query.limit && tail) {
    response.nextCursor = encodeCursor({ lastMessageAt: tail.lastMessageAt, id: tail._id });
  }
  return response;
}
