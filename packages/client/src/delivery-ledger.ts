// Handing messages to the app. Every message — live, replayed, paged from history,
// or our own send's ack — is offered to the SeqTracker, which drops what was already
// delivered (by seq, and by id), holds back what lies beyond a gap and releases the
// rest in seq order; each released message is emitted as a `message` event with the
// conversation's short form, as far as a frame has told it.
//
// It also decides where tracking of a conversation it did not know starts (startSeq):
// the one rule that makes "every message of a new conversation, none of an old one's
// past" hold, whichever way the conversation was learned of.
import type { ConversationRef, Message } from '@parley/contracts';
import type { MessageSource, RealtimeEmit } from './realtime-events';
import type { MessageChange } from './message-changes';
import type { AcceptStatus, SeqTracker } from './seq-tracker';

export class DeliveryLedger {
  readonly #tracker: SeqTracker;
  readonly #emit: RealtimeEmit;
  readonly #conversationRefs = new Map<string, ConversationRef>();
  /** The first conversation list has loaded: conversations learned from now on are new to this session. */
  #synced = false;

  constructor(tracker: SeqTracker, emit: RealtimeEmit) {
    this.#tracker = tracker;
    this.#emit = emit;
  }

  /** Offers a message; what it releases is delivered. 'buffered' means a gap waits to be filled. */
  accept(message: Message, source: MessageSource): AcceptStatus {
    const id = message.conversationId;
    if (!this.#tracker.isTracked(id)) this.#tracker.seed(id, this.#startSeq(id, message.seq - 1));
    const result = this.#tracker.accept(message);
    this.deliver(result.deliver, source);
    return result.status;
  }

  /**
   * An edit or reaction change: applied to the message if it still waits beyond a gap
   * here (so it is current when delivered); the app applies it to what it holds.
   */
  applyChange(conversationId: string, change: MessageChange): void {
    this.#tracker.applyToBuffered(conversationId, change);
  }

  deliver(messages: Message[], source: MessageSource): void {
    for (const message of messages) {
      this.#emit('message', {
        message,
        conversation: this.#conversationRefs.get(message.conversationId),
        source,
      });
    }
  }

  /**
   * Starts tracking a conversation learned of from the list or a frame, at the seq
   * startSeq picks given its current `lastSeq`; returns that starting seq, or
   * undefined when it was tracked already.
   */
  startTracking(conversationId: string, lastSeq: number): number | undefined {
    if (this.#tracker.isTracked(conversationId)) return undefined;
    const from = this.#startSeq(conversationId, lastSeq);
    this.#tracker.seed(conversationId, from);
    return from;
  }

  /** The first conversation list has loaded completely (the "first sync"). */
  markSynced(): void {
    this.#synced = true;
  }

  knows(conversationId: string): boolean {
    return this.#conversationRefs.has(conversationId);
  }

  /** Keeps the conversation's short form, for the `message` events of it. */
  remember(conversation: ConversationRef): void {
    const { id, kind, name } = conversation;
    this.#conversationRefs.set(id, { id, kind, ...(name === undefined ? {} : { name }) });
  }

  /**
   * Where tracking of an untracked conversation starts, given the seq it is at now
   * (the list's lastSeq, the frame's, or just below the message that revealed it).
   * Until the first conversation list has loaded, a conversation is taken to have
   * existed before this session: it starts at `current` (older history is the app's
   * to page, or to seed). After that, one never tracked in this session is new — it
   * was created or joined while we watched or while we were away — and starts at 0,
   * so every message of it is delivered, the missing ones from history. One the app
   * untracked starts at `current` again (its earlier messages were delivered).
   */
  #startSeq(conversationId: string, current: number): number {
    return this.#synced && !this.#tracker.isKnown(conversationId) ? 0 : Math.max(0, current);
  }
}
