// The realtime connection: its lifecycle becomes the banner's state (and a refused
// session ends the login), and each live event is applied to the state — messages and
// their changes, typing, read markers, conversations joined, changed or lost, presence.
import { isMemberAfter } from '@parley/client';
import { applyOwnRead } from '../../model/conversation-list';
import { applyRead } from '../../model/read-receipts';
import { applyTyping } from '../../model/typing-state';
import type { ChatConversations } from './conversations';
import type { ConversationView } from './conversation-view';
import type { MessageEvents } from './message-events';
import type { ChatState } from './shared-state';
import type { ChatTyping } from './typing';

export interface RealtimeParts {
  list: ChatConversations;
  view: ConversationView;
  events: MessageEvents;
  typist: ChatTyping;
}

export function createRealtime(state: ChatState, parts: RealtimeParts) {
  const { deps, client, me, now, connection, conversationsById, timelines, live } = state;
  const { typing, reads, rooms, presence, clock, tell, updateSummary } = state;
  const { refreshConversations, upsertConversation, leaving, forgetConversation } = parts.list;
  const { loadLatest } = parts.view;
  const { onMessage, onMessageChange } = parts.events;
  const { scheduleTypingExpiry } = parts.typist;

  let connectedOnce = false;
  let reconnectAttempt = 0;

  /** After a reconnect: counts and edits made while away (resume replays messages only). */
  function refreshAfterReconnect(): void {
    void refreshConversations();
    for (const [id, timeline] of Object.entries(timelines.value)) {
      if (timeline.loaded) void loadLatest(id);
    }
  }

  function connect(): void {
    const connection$ = client.realtime(deps.realtime ?? {});
    live.rt = connection$;
    connection$.on('connected', () => {
      connection.value = { status: 'syncing' };
    });
    connection$.on('resumed', () => {
      connection.value = { status: 'online' };
      reconnectAttempt = 0;
      if (connectedOnce) refreshAfterReconnect();
      connectedOnce = true;
    });
    connection$.on('disconnected', (info) => {
      if (live.stopped) return;
      if (info.willReconnect) {
        connection.value = {
          status: 'reconnecting',
          retryAt: now() + (info.delayMs ?? 0),
          attempt: ++reconnectAttempt,
        };
      } else if (info.error !== undefined) {
        deps.onSessionEnded('Your session has ended. Please log in again.');
      }
    });
    connection$.on('message', ({ message, source }) => onMessage(message, source === 'live'));
    connection$.on('message_updated', (frame) =>
      onMessageChange(frame.message.conversationId, frame),
    );
    connection$.on('reaction', (frame) => onMessageChange(frame.conversationId, frame));
    connection$.on('typing', (frame) => {
      if (frame.user.id === me.id) return;
      typing.value = applyTyping(typing.value, frame, now());
      clock.value = now();
      scheduleTypingExpiry();
    });
    connection$.on('read', (frame) => {
      if (frame.userId === me.id)
        updateSummary(frame.conversationId, (c) => applyOwnRead(c, frame.seq));
      else reads.value = applyRead(reads.value, frame);
    });
    connection$.on('conversation_updated', (frame) => {
      const { conversation } = frame;
      if (isMemberAfter(frame, me.id)) {
        // A room joined or created: its history is paged on open, not replayed from seq 1.
        if (connection$.lastSeenSeq(conversation.id) === undefined) {
          connection$.track(conversation.id, conversation.lastSeq);
        }
        upsertConversation(conversation, frame.memberChange);
      } else if (conversationsById.value[conversation.id] !== undefined) {
        // Removed or banned by a moderator (or left on another device): the room goes.
        const wasLeaving = leaving.delete(conversation.id);
        forgetConversation(conversation.id);
        if (!wasLeaving && conversation.kind === 'room') {
          tell(`You are no longer a member of ${conversation.name ?? 'a room'}.`);
        }
      }
      if (rooms.value !== null && conversation.kind === 'room') {
        rooms.value = rooms.value.map((r) => (r.id === conversation.id ? conversation : r));
      }
    });
    connection$.on('presence', (frame) => {
      // `unknown`: the user shares no conversation with us; shown as no presence at all
      const { [frame.userId]: _old, ...others } = presence.value;
      presence.value =
        frame.status === 'unknown' ? others : { ...others, [frame.userId]: frame.status };
    });
    connection$.start().catch(() => {
      // Refused session: `disconnected` (willReconnect false) already ended it; a
      // close() from stop() needs nothing.
    });
  }

  return { connect };
}
