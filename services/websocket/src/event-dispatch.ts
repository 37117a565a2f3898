// The use case between the queues and the sockets: turns one bus event into the
// server frames of docs/design.md §6.2 and hands them to the gateway for each recipient
// connected here (recipients elsewhere are someone else's; their messages are in
// MongoDB). Presence events feed the presence tracker; session_revoked closes the
// user's sockets here and is remembered so their older tokens are refused.
//
// Which exchange an event came from decides what it may be (docs/design.md §9): chat events
// and session_revoked only from chat.events, which only chat and auth may write;
// presence only from chat.presence, which websocket instances write. So an instance
// (or anything holding its broker credentials) cannot make another deliver a forged
// message: whatever it publishes arrives as presence or not at all.
import type { ParleyEvent, ServerFrame } from '@parley/contracts';
import type { Logger } from '@parley/server-kit';
import { isPresenceEvent, type PresenceTracker } from './presence-tracker';
import type { InflightSends } from './recent-ids';
import type { RevokedSessions } from './revoked-sessions';
import type { SocketGateway } from './socket-gateway';

export interface EventDispatch {
  /** An event consumed from chat.events (presence events there are refused). */
  dispatchChatEvent(event: ParleyEvent): void;
  /** An event consumed from chat.presence (anything but presence there is refused). */
  dispatchPresenceEvent(event: ParleyEvent): void;
}

export interface EventDispatchOptions {
  gateway: SocketGateway;
  presence: PresenceTracker;
  inflight: InflightSends;
  revoked: RevokedSessions;
  /** Closes the user's sockets here whose token the recorded revocation covers, with 4001. */
  endRevokedSessionsOf(userId: string): void;
  logger: Logger;
}

export function createEventDispatch(options: EventDispatchOptions): EventDispatch {
  const { gateway, presence, inflight, logger } = options;

  function fanOut(
    event: ParleyEvent,
    frame: ServerFrame,
    exceptFor?: { userId: string; connectionId: string },
  ): void {
    const occurredAt = Date.parse(event.occurredAt);
    gateway.sendToUsers(new Set(event.recipients), frame, { occurredAt, except: exceptFor });
  }

  function refuse(event: ParleyEvent, exchange: string): void {
    logger.warn(
      { id: event.id, type: event.type, exchange },
      'dropping an event that may not come from this exchange',
    );
  }

  return {
    dispatchChatEvent(event) {
      switch (event.type) {
        case 'new_message': {
          const { message, conversation } = event.data;
          const sender = message.sender.id;
          const fromSocket =
            message.clientMsgId === undefined
              ? undefined
              : inflight.connectionOf(sender, message.clientMsgId);
          fanOut(
            event,
            { type: 'message', message, conversation },
            fromSocket === undefined ? undefined : { userId: sender, connectionId: fromSocket },
          );
          return;
        }
        case 'message_updated':
          fanOut(event, { type: 'message_updated', message: event.data.message });
          return;
        case 'reaction':
          fanOut(event, { type: 'reaction', ...event.data });
          return;
        case 'typing':
          fanOut(event, { type: 'typing', ...event.data });
          return;
        case 'read':
          fanOut(event, { type: 'read', ...event.data });
          return;
        case 'conversation_updated':
          fanOut(event, {
            type: 'conversation_updated',
            conversation: event.data.conversation,
            ...(event.data.memberChange ? { memberChange: event.data.memberChange } : {}),
          });
          return;
        case 'session_revoked':
          options.revoked.revoke(event.data.userId, new Date(event.data.revokedAt));
          options.endRevokedSessionsOf(event.data.userId);
          return;
        case 'presence':
        case 'presence_snapshot':
        case 'presence_digest':
          refuse(event, 'events exchange');
          return;
      }
    },
    dispatchPresenceEvent(event) {
      if (isPresenceEvent(event)) presence.apply(event);
      else refuse(event, 'presence exchange');
    },
  };
}
