// What a realtime connection tells the app: the events it emits and their payloads.
// Kept apart from the connection so the parts that raise them (socket lifecycle,
// frame handlers, delivery, sync) share one definition.
import type { ConversationRef, Message, ServerFrameOf } from '@parley/contracts';
import type { Emit } from './typed-emitter';

/** Where a delivered message came from. */
export type MessageSource = 'live' | 'resume' | 'history' | 'ack';

export interface MessageDelivery {
  message: Message;
  /** The conversation's short form, when a frame has told us it. */
  conversation: ConversationRef | undefined;
  source: MessageSource;
}

export interface DisconnectInfo {
  code: number;
  reason: string;
  willReconnect: boolean;
  /** Delay before the next attempt, ms. */
  delayMs?: number;
  /** Why it will not reconnect (session refused), when that is the case. */
  error?: unknown;
}

export type RealtimeEvents = {
  /** The server said `ready` (after every (re)connect). */
  connected: [ServerFrameOf<'ready'>];
  disconnected: [DisconnectInfo];
  /** Caught up after a (re)connect: replay and any history paging done. */
  resumed: [{ complete: boolean }];
  /** Each message exactly once, in seq order per conversation. */
  message: [MessageDelivery];
  /** An edit or delete: only what changed (apply it with applyMessageChange). */
  message_updated: [ServerFrameOf<'message_updated'>];
  /** One reaction added or removed (apply it with applyMessageChange). */
  reaction: [ServerFrameOf<'reaction'>];
  typing: [ServerFrameOf<'typing'>];
  read: [ServerFrameOf<'read'>];
  conversation_updated: [ServerFrameOf<'conversation_updated'>];
  presence: [ServerFrameOf<'presence'>];
  /** An `error` frame that answers no pending send. */
  error: [ServerFrameOf<'error'>];
  /** A frame that is not JSON or not in the contract; reported, never thrown. */
  invalid_frame: [{ data: string; error: Error }];
  /**
   * A history fetch for gap filling or catch-up failed (it is retried), or a gap could
   * not be filled and was skipped. No `conversationId` when loading the conversation
   * list failed.
   */
  sync_error: [{ conversationId?: string; error: unknown }];
};

export type RealtimeEmit = Emit<RealtimeEvents>;
