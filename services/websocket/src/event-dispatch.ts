// The use case between the queue and the sockets: turns one bus event into the
// server frames of docs/design.md §6.2 and hands them to the gateway for each recipient
// connected here (recipients elsewhere are someone else's; their messages are in
// MongoDB). Presence events feed the presence tracker instead.
import type { ParleyEvent, ServerFrame } from '@parley/contracts';
import type { PresenceTracker } from './presence-tracker';
import type { InflightSends } from './recent-ids';
import type { SocketGateway } from './socket-gateway';

export interface EventDispatch {
  dispatch(event: ParleyEvent): void;
}

export interface EventDispatchOptions {
  gateway: SocketGateway;
  presence: PresenceTracker;
  inflight: InflightSends;
}

export function createEventDispatch(options: EventDispatchOptions): EventDispatch {
  const { gateway, presence, inflight } = options;

  function fanOut(
    event: ParleyEvent,
    frame: ServerFrame,
    exceptFor?: { userId: string; connectionId: string },
  ): void {
    const occurredAt = Date.parse(event.occurredAt);
    gateway.sendToUsers(new Set(event.recipients), frame, { occurredAt, except: exceptFor });
  }

  return {
    dispatch(event) {
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
          fanOut(event, { type: 'conversation_updated', conversation: event.data.conversation });
          return;
        case 'presence':
        case 'presence_snapshot':
          presence.apply(event);
          return;
      }
    },
  };
}
