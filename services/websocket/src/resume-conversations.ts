// The `resume` use case: a client back from being offline names, per conversation,
// the last seq it saw; every message after it is read from chat's history (MongoDB,
// so any length of absence works) and sent as `message` frames in seq order, up to
// RESUME_MESSAGE_BOUND in all. `resumed.complete` is false when the bound cut the
// replay or a conversation could not be read; the client then pages the rest with
// GET /chat/history?after=.
import {
  HISTORY_LIMIT_MAX,
  RESUME_MESSAGE_BOUND,
  type ConversationRef,
  type Message,
  type ServerFrame,
} from '@parley/contracts';
import { ChatRequestError, type ChatClient } from './chat-client';

export interface ResumeInput {
  token: string;
  conversations: Record<string, number>;
  /** Emits one frame to the resuming socket; false when it could not be written. */
  emit(frame: ServerFrame): boolean;
  bound?: number;
}

export async function resumeConversations(chat: ChatClient, input: ResumeInput): Promise<void> {
  const bound = input.bound ?? RESUME_MESSAGE_BOUND;
  let sent = 0;
  let complete = true;

  for (const [conversationId, lastSeenSeq] of Object.entries(input.conversations)) {
    try {
      let after = lastSeenSeq;
      let ref: ConversationRef | undefined;
      for (;;) {
        const budget = bound - sent;
        // With the budget spent, one message is enough to know the replay is cut.
        const limit = Math.max(1, Math.min(HISTORY_LIMIT_MAX, budget));
        const page = await chat.history(input.token, { conversationId, after, limit });
        if (budget <= 0) {
          if (page.messages.length > 0) complete = false;
          break;
        }
        ref ??= page.conversation ?? (await lookUpRef(chat, input.token, conversationId));
        for (const message of page.messages) {
          if (!input.emit({ type: 'message', message, conversation: ref })) return;
          sent += 1;
        }
        const last: Message | undefined = page.messages.at(-1);
        if (!page.hasMore || last === undefined) break;
        after = last.seq;
      }
    } catch (err) {
      if (!(err instanceof ChatRequestError)) throw err;
      complete = false;
      input.emit({
        type: 'error',
        code: err.code,
        message: `resume of conversation ${conversationId} failed: ${err.message}`,
      });
    }
  }
  input.emit({ type: 'resumed', complete });
}

/**
 * Fallback for a chat that does not label history pages: a room answers GET
 * /chat/rooms/:id; a conversation the caller can read (history just answered) that is
 * not a room is the only other kind, a direct one.
 */
async function lookUpRef(chat: ChatClient, token: string, id: string): Promise<ConversationRef> {
  const room = await chat.room(token, id);
  if (!room) return { id, kind: 'direct' };
  return room.name === undefined
    ? { id, kind: room.kind }
    : { id, kind: room.kind, name: room.name };
}
