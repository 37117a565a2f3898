// A message as it arrives or changes (a frame, an ack, a REST answer, an optimistic
// change): merged into its loaded timeline and its conversation's summary, and what
// arrives live is announced for screen readers.
import { applyMessageChange, changedMessageId, type MessageChange } from '@parley/client';
import type { Message } from '@parley/contracts';
import { batch } from '@preact/signals';
import { applyMessage, applyMessageUpdate, isMuted, nameOf } from '../../model/conversation-list';
import { mentionsUser } from '../../model/mentions';
import { withMessages } from '../../model/message-timeline';
import { clearTypist } from '../../model/typing-state';
import type { ChatConversations } from './conversations';
import type { ChatState } from './shared-state';
import type { ChatUsers } from './users';

export type MessageEvents = ReturnType<typeof createMessageEvents>;

export function createMessageEvents(state: ChatState, people: ChatUsers, list: ChatConversations) {
  const { me, now, conversationsById, timelines, activeId, users, typing } = state;
  const { announce, updateTimeline, updateSummary } = state;
  const { ensureUsers } = people;
  const { refreshConversations } = list;

  function onMessage(message: Message, live: boolean): void {
    const id = message.conversationId;
    batch(() => {
      updateTimeline(id, (t) =>
        t.loaded || t.pending.length > 0 ? withMessages(t, [message]) : t,
      );
      if (conversationsById.value[id] === undefined) {
        void refreshConversations();
      } else {
        updateSummary(id, (c) => applyMessage(c, message, me.id));
      }
      typing.value = clearTypist(typing.value, id, message.sender.id);
    });
    ensureUsers([message.sender.id]);
    // Only what arrives as it happens is announced, not a catch-up after a reconnect.
    if (live && message.sender.id !== me.id && message.parentId === undefined) {
      const who = nameOf(message.sender, users.value);
      const summary = conversationsById.value[id];
      const quiet = summary !== undefined && isMuted(summary, now());
      const said = message.text === '' ? 'sent a file' : message.text;
      if (activeId.value === id) announce(`${who}: ${said}`);
      else if (mentionsUser(message, me.id)) announce(`${who} mentioned you`);
      else if (!quiet) announce(`New message from ${who}`);
    }
  }

  function onMessageUpdated(message: Message): void {
    batch(() => {
      updateTimeline(message.conversationId, (t) => (t.loaded ? withMessages(t, [message]) : t));
      updateSummary(message.conversationId, (c) => applyMessageUpdate(c, message));
    });
  }

  /**
   * A `message_updated` or `reaction` frame carries only what changed: applied to the
   * message as held here (in the loaded timeline, or as a conversation's last message).
   */
  function onMessageChange(conversationId: string, change: MessageChange): void {
    const id = changedMessageId(change);
    const held =
      timelines.value[conversationId]?.messages.find((m) => m.id === id) ??
      conversationsById.value[conversationId]?.lastMessage;
    if (held?.id !== id) return;
    onMessageUpdated(applyMessageChange(held, change));
  }

  return { onMessage, onMessageUpdated, onMessageChange };
}
