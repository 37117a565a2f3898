// Server → client frames: each text frame from a live socket is parsed with the
// contracts' serverFrameSchema (one that is not JSON or not in the contract is
// reported as `invalid_frame`, never thrown) and routed by its `type` through one
// handler table to the part of the connection it concerns — the socket, the pending
// requests, delivery and sync — or straight to the app as an event.
import { serverFrameSchema, type ServerFrame, type ServerFrameOf } from '@parley/contracts';
import type { ConversationDiscovery } from './conversation-discovery';
import type { ConversationSync } from './conversation-sync';
import type { DeliveryLedger } from './delivery-ledger';
import { isMemberAfter } from './member-list';
import type { PendingRequests } from './pending-requests';
import type { RealtimeEmit } from './realtime-events';
import type { Connection, SocketLifecycle } from './socket-lifecycle';

export interface FrameHandlersDeps {
  emit: RealtimeEmit;
  socket: SocketLifecycle;
  pending: PendingRequests;
  ledger: DeliveryLedger;
  sync: ConversationSync;
  discovery: ConversationDiscovery;
}

export interface FrameHandlers {
  /** Handles one text frame of a socket that has not ended. */
  handle(conn: Connection, text: string): void;
}

type HandlerTable = {
  [T in ServerFrame['type']]: (conn: Connection, frame: ServerFrameOf<T>) => void;
};

export function createFrameHandlers(deps: FrameHandlersDeps): FrameHandlers {
  const { emit, socket, pending, ledger, sync, discovery } = deps;
  /** From `ready`: who we are, to tell whether a `conversation_updated` makes us a member. */
  let userId: string | undefined;

  const handlers: HandlerTable = {
    ready(conn, frame) {
      if (conn.ready) return;
      socket.markReady(conn);
      userId = frame.userId;
      emit('connected', frame);
      if (conn.ended) return;
      // Replay what was missed; meanwhile, find conversations we do not track (created
      // or joined while away); then re-send unacknowledged sends (same refs) and
      // re-subscribe to presence.
      sync.resume(conn);
      conn.discovery = discovery.discover(conn);
      for (const again of pending.replay()) socket.send(again);
      socket.keepAlive(conn);
    },

    message(_conn, frame) {
      ledger.remember(frame.conversation);
      sync.receive(frame.message, sync.resuming ? 'resume' : 'live');
    },

    ack(_conn, frame) {
      sync.receive(frame.message, 'ack');
      pending.acked(frame.ref, frame.message);
    },

    error(_conn, frame) {
      if (!pending.refused(frame)) emit('error', frame);
    },

    resumed(conn, frame) {
      sync.answered(conn, frame);
    },

    pong() {
      pending.pong();
    },

    conversation_updated(_conn, frame) {
      const { conversation } = frame;
      ledger.remember(conversation);
      emit('conversation_updated', frame);
      // Created, joined or invited into: track it (unless the app's listener just did).
      if (userId !== undefined && isMemberAfter(frame, userId)) {
        void sync.learn(conversation.id, conversation.lastSeq);
      }
    },

    message_updated(_conn, frame) {
      ledger.applyChange(frame.message.conversationId, frame);
      emit('message_updated', frame);
    },

    reaction(_conn, frame) {
      ledger.applyChange(frame.conversationId, frame);
      emit('reaction', frame);
    },

    typing(_conn, frame) {
      emit('typing', frame);
    },

    read(_conn, frame) {
      emit('read', frame);
    },

    presence(_conn, frame) {
      emit('presence', frame);
    },
  };

  return {
    handle(conn, text) {
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch (error) {
        emit('invalid_frame', { data: text, error: error as Error });
        return;
      }
      const parsed = serverFrameSchema.safeParse(json);
      if (!parsed.success) {
        emit('invalid_frame', { data: text, error: parsed.error });
        return;
      }
      const frame = parsed.data;
      const handler = handlers[frame.type] as (conn: Connection, frame: ServerFrame) => void;
      handler(conn, frame);
    },
  };
}
