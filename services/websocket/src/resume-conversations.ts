// The `resume` use case: a client back from being offline names, per conversation,
// the last seq it saw (at most RESUME_MAX_CONVERSATIONS per frame); one call to chat's
// POST /chat/sync reads every message after it (MongoDB, so any length of absence
// works), up to RESUME_MESSAGE_BOUND in all, and checks the ids against the caller's
// conversations in one query. The messages go out as `message` frames in seq order,
// then `resumed` with the frame's ref, `complete` (false when the bound cut the replay
// or chat could not answer; the client then pages with GET /chat/history?after=) and
// `notFound` (the ids that are not the caller's, unknown ones alike: stop tracking
// them). One resume runs per socket at a time (client-frames.ts), and chat counts
// them per user, so one frame costs one chat call however many ids it names.
import type { ServerFrame } from '@parley/contracts';
import { ChatRequestError, type ChatClient } from './chat-client';

export interface ResumeInput {
  token: string;
  conversations: Record<string, number>;
  ref?: string | undefined;
  /** Emits one frame to the resuming socket; false when it could not be written. */
  emit(frame: ServerFrame): boolean;
}

export async function resumeConversations(chat: ChatClient, input: ResumeInput): Promise<void> {
  const ref = input.ref === undefined ? {} : { ref: input.ref };
  if (Object.keys(input.conversations).length === 0) {
    input.emit({ type: 'resumed', complete: true, ...ref });
    return;
  }
  let sync;
  try {
    sync = await chat.sync(input.token, { conversations: input.conversations });
  } catch (err) {
    if (!(err instanceof ChatRequestError)) throw err;
    input.emit({ type: 'error', code: err.code, message: `resume failed: ${err.message}`, ...ref });
    input.emit({ type: 'resumed', complete: false, ...ref });
    return;
  }
  for (const { conversation, messages } of sync.conversations) {
    for (const message of messages) {
      if (!input.emit({ type: 'message', message, conversation })) return;
    }
  }
  input.emit({
    type: 'resumed',
    complete: sync.complete,
    ...ref,
    ...(sync.notFound.length > 0 ? { notFound: sync.notFound } : {}),
  });
}
