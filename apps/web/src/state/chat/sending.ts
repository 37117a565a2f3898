// My messages: sent over the socket and shown at once as pending (replaced by the
// stored message on its ack, or marked failed to retry or discard), and edits,
// deletes and reactions shown at once and undone when the server refuses them.
import type { Message } from '@parley/contracts';
import {
  toggledReactions,
  tombstone,
  withMessages,
  withoutPending,
  withPending,
  type PendingSend,
} from '../../model/message-timeline';
import { errorText } from '../error-text';
import type { MessageEvents } from './message-events';
import type { ChatState } from './shared-state';
import type { ChatTyping } from './typing';

export type ChatSending = ReturnType<typeof createChatSending>;

export function createChatSending(state: ChatState, typist: ChatTyping, events: MessageEvents) {
  const { client, me, now, conversationsById, timelines, drafts, live } = state;
  const { showNotice, updateTimeline } = state;
  const { stopTyping } = typist;
  const { onMessageUpdated } = events;

  function sendPending(id: string, send: PendingSend): void {
    const connection$ = live.rt;
    if (connection$ === null) return;
    const draft = drafts.value[id];
    const target =
      conversationsById.value[id] === undefined && draft !== undefined
        ? { to: draft.partner.username }
        : { conversationId: id };
    connection$
      .send({
        ...target,
        text: send.text,
        ref: send.ref,
        ...(send.parentId === undefined ? {} : { parentId: send.parentId }),
      })
      .then(
        (message) => updateTimeline(id, (t) => withMessages(t, [message])),
        (error: unknown) =>
          updateTimeline(id, (t) =>
            t.pending.some((p) => p.ref === send.ref)
              ? withPending(t, { ...send, state: 'failed', error: errorText(error) })
              : t,
          ),
      );
  }

  /** Sends over the socket; shown at once as pending, replaced by the stored message on its ack. */
  function send(id: string, text: string, parentId?: string): void {
    const body = text.trim();
    if (body === '') return;
    const pending: PendingSend = {
      ref: globalThis.crypto.randomUUID(),
      text: body,
      createdAt: new Date(now()).toISOString(),
      state: 'sending',
      ...(parentId === undefined ? {} : { parentId }),
    };
    updateTimeline(id, (t) => withPending(t, pending));
    stopTyping(id);
    sendPending(id, pending);
  }

  /** Sends a failed message again with the same ref: the server stores it at most once. */
  function retry(id: string, ref: string): void {
    const pending = timelines.value[id]?.pending.find((p) => p.ref === ref);
    if (pending === undefined) return;
    const again: PendingSend = {
      ref,
      text: pending.text,
      createdAt: pending.createdAt,
      state: 'sending',
    };
    if (pending.parentId !== undefined) again.parentId = pending.parentId;
    updateTimeline(id, (t) => withPending(t, again));
    sendPending(id, again);
  }

  function discard(id: string, ref: string): void {
    updateTimeline(id, (t) => withoutPending(t, ref));
  }

  async function edit(message: Message, text: string): Promise<boolean> {
    const body = text.trim();
    if (body === '' || body === message.text) return true;
    try {
      onMessageUpdated(await client.editMessage(message.id, body));
      return true;
    } catch (error) {
      showNotice(error, 'Could not edit the message');
      return false;
    }
  }

  async function remove(message: Message): Promise<void> {
    onMessageUpdated(tombstone(message, new Date(now()).toISOString()));
    try {
      await client.deleteMessage(message.id);
    } catch (error) {
      onMessageUpdated(message);
      showNotice(error, 'Could not delete the message');
    }
  }

  async function toggleReaction(message: Message, emoji: string): Promise<void> {
    const mine = message.reactions[emoji]?.includes(me.id) ?? false;
    onMessageUpdated({ ...message, reactions: toggledReactions(message.reactions, emoji, me.id) });
    try {
      onMessageUpdated(
        mine ? await client.unreact(message.id, emoji) : await client.react(message.id, emoji),
      );
    } catch (error) {
      onMessageUpdated(message);
      showNotice(error, 'Could not change the reaction');
    }
  }

  return { send, retry, discard, edit, remove, toggleReaction };
}
