// What one realtime connection delivered to the app, in order, for assertions: every
// `message` event (with its source), updates, conversation changes, presence and
// lifecycle events. Counts are of events as the app sees them, after the client's
// dedupe, so "exactly once at the client" is `deliveries(id) === 1`.
import {
  applyMessageChange,
  changedMessageId,
  type MessageChange,
  type MessageDelivery,
  type RealtimeConnection,
  type RealtimeEvents,
  type DisconnectInfo,
} from '@parley/client';
import type { Message } from '@parley/contracts';
import { waitFor } from './wait-for';

type FrameOf<E extends keyof RealtimeEvents> = RealtimeEvents[E][0];

export class Inbox {
  readonly messages: MessageDelivery[] = [];
  /** Edits, deletes and reactions, as they came. */
  readonly updates: MessageChange[] = [];
  readonly conversationUpdates: FrameOf<'conversation_updated'>[] = [];
  readonly presence: FrameOf<'presence'>[] = [];
  readonly reads: FrameOf<'read'>[] = [];
  readonly typing: FrameOf<'typing'>[] = [];
  readonly errors: FrameOf<'error'>[] = [];
  readonly syncErrors: FrameOf<'sync_error'>[] = [];
  readonly disconnects: DisconnectInfo[] = [];
  connects = 0;
  readonly #off: (() => void)[];

  constructor(readonly rt: RealtimeConnection) {
    this.#off = [
      rt.on('message', (delivery) => this.messages.push(delivery)),
      rt.on('message_updated', (frame) => this.updates.push(frame)),
      rt.on('reaction', (frame) => this.updates.push(frame)),
      rt.on('conversation_updated', (frame) => this.conversationUpdates.push(frame)),
      rt.on('presence', (frame) => this.presence.push(frame)),
      rt.on('read', (frame) => this.reads.push(frame)),
      rt.on('typing', (frame) => this.typing.push(frame)),
      rt.on('error', (frame) => this.errors.push(frame)),
      rt.on('sync_error', (info) => this.syncErrors.push(info)),
      rt.on('disconnected', (info) => this.disconnects.push(info)),
      rt.on('connected', () => {
        this.connects += 1;
      }),
    ];
  }

  /** Messages of one conversation in the order delivered. */
  of(conversationId: string): Message[] {
    return this.messages
      .filter(({ message }) => message.conversationId === conversationId)
      .map(({ message }) => message);
  }

  /** Changes that came for one message. */
  updatesOf(messageId: string): MessageChange[] {
    return this.updates.filter((change) => changedMessageId(change) === messageId);
  }

  /** The message as an app holding it sees it: as delivered, with every change applied. */
  current(messageId: string): Message | undefined {
    const delivered = this.messages.find(({ message }) => message.id === messageId)?.message;
    return delivered && this.updatesOf(messageId).reduce(applyMessageChange, delivered);
  }

  /** How many times the message with this id was delivered. */
  deliveries(messageId: string): number {
    return this.messages.filter(({ message }) => message.id === messageId).length;
  }

  /** Deliveries beyond the first, over all messages. */
  duplicateCount(): number {
    return this.messages.length - new Set(this.messages.map(({ message }) => message.id)).size;
  }

  /** Deliveries per source (live, resume, history, ack). */
  sources(conversationId?: string): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const { message, source } of this.messages) {
      if (conversationId !== undefined && message.conversationId !== conversationId) continue;
      counts[source] = (counts[source] ?? 0) + 1;
    }
    return counts;
  }

  /** Waits until `count` messages of the conversation were delivered. */
  waitForMessages(conversationId: string, count: number, timeoutMs = 10_000): Promise<Message[]> {
    return waitFor(
      () => {
        const messages = this.of(conversationId);
        return messages.length >= count ? messages : undefined;
      },
      {
        timeoutMs,
        description: `${count} messages in ${conversationId} (have ${this.of(conversationId).length})`,
      },
    );
  }

  /**
   * Waits for the first item of `list` (one of this inbox's arrays, e.g. `inbox.presence`)
   * at or after index `from` that matches.
   */
  waitIn<T>(
    list: readonly T[],
    match: (item: T) => boolean,
    what: string,
    { from = 0, timeoutMs = 10_000 }: { from?: number; timeoutMs?: number } = {},
  ): Promise<T> {
    return waitFor(() => list.slice(from).find(match), { timeoutMs, description: what });
  }

  /** Stops recording (the connection stays as it is). */
  detach(): void {
    for (const off of this.#off) off();
  }
}
