// Per-conversation delivery state behind the exactly-once, in-seq-order promise.
// Seq numbers grow by exactly 1 within a conversation (docs/design.md §4.5), so "the last
// seq handed to the app" is all it takes: anything at or below it is a duplicate,
// the next one is delivered, anything beyond it waits in a buffer while the gap is
// filled from history. Delivered ids are also remembered (a bounded window below
// lastSeen) so an id seen twice is dropped whatever seq it claims.
//
// Which seq an untracked conversation starts from is the connection's decision (see
// delivery-ledger.ts): it calls seed() first. The tracker only remembers which
// conversations it has ever tracked (`isKnown`, kept after forget()), so the
// connection can tell a conversation new to this session from one it let go of.
import type { Message } from '@parley/contracts';
import { applyMessageChange, changedMessageId, type MessageChange } from './message-changes';

export type AcceptStatus = 'delivered' | 'duplicate' | 'buffered';

export interface AcceptResult {
  status: AcceptStatus;
  /** Messages to hand to the app now, in seq order (the accepted one and any it unblocked). */
  deliver: Message[];
}

interface ConversationState {
  lastSeen: number;
  /** Messages beyond a gap, by seq. */
  pending: Map<number, Message>;
  /** Delivered ids → seq, kept for seq ≥ lastSeen − window. */
  ids: Map<string, number>;
  /** Recency, for choosing which conversations to name in a bounded `resume`. */
  touched: number;
}

export interface SeqTrackerOptions {
  /** How far below lastSeen delivered ids are remembered (default 1000). */
  window?: number;
  /** Last seen seq per conversation the app already has. */
  seed?: Readonly<Record<string, number>>;
}

export class SeqTracker {
  readonly #conversations = new Map<string, ConversationState>();
  /** Every conversation tracked at some point, forgotten ones included. */
  readonly #known = new Set<string>();
  readonly #window: number;
  #tick = 0;

  constructor(options: SeqTrackerOptions = {}) {
    this.#window = options.window ?? 1000;
    for (const [id, seq] of Object.entries(options.seed ?? {})) this.seed(id, seq);
  }

  /** The last seq delivered for a conversation; undefined when it is not tracked. */
  lastSeen(conversationId: string): number | undefined {
    return this.#conversations.get(conversationId)?.lastSeen;
  }

  isTracked(conversationId: string): boolean {
    return this.#conversations.has(conversationId);
  }

  /** Whether the conversation is or was tracked (forget() does not erase this). */
  isKnown(conversationId: string): boolean {
    return this.#known.has(conversationId);
  }

  tracked(): string[] {
    return [...this.#conversations.keys()];
  }

  /** Whether messages wait beyond a gap (something between lastSeen and them is missing). */
  hasGap(conversationId: string): boolean {
    return (this.#conversations.get(conversationId)?.pending.size ?? 0) > 0;
  }

  conversationsWithGaps(): string[] {
    return [...this.#conversations].filter(([, c]) => c.pending.size > 0).map(([id]) => id);
  }

  /**
   * The app has everything up to `seq` (at least). Starts tracking, or moves lastSeen
   * forward; returns buffered messages this unblocked.
   */
  seed(conversationId: string, seq: number): Message[] {
    const state = this.#conversations.get(conversationId);
    if (state === undefined) {
      this.#start(conversationId, seq);
      return [];
    }
    if (seq <= state.lastSeen) return [];
    state.lastSeen = seq;
    for (const pendingSeq of state.pending.keys()) {
      if (pendingSeq <= seq) state.pending.delete(pendingSeq);
    }
    return this.#drain(state);
  }

  /**
   * Offer a message. It is delivered if it is the next seq, buffered if it is beyond
   * a gap, and dropped if it was seen already. An untracked conversation starts being
   * tracked at this message (seed() it first to start elsewhere).
   */
  accept(message: Message): AcceptResult {
    const state =
      this.#conversations.get(message.conversationId) ??
      this.#start(message.conversationId, message.seq - 1);
    state.touched = ++this.#tick;
    if (
      message.seq <= state.lastSeen ||
      state.ids.has(message.id) ||
      state.pending.has(message.seq)
    ) {
      return { status: 'duplicate', deliver: [] };
    }
    if (message.seq > state.lastSeen + 1) {
      state.pending.set(message.seq, message);
      return { status: 'buffered', deliver: [] };
    }
    this.#record(state, message);
    return { status: 'delivered', deliver: [message, ...this.#drain(state)] };
  }

  /**
   * Give up on a gap that history cannot fill: move lastSeen to just below the
   * oldest buffered message and release what is buffered.
   */
  skipGap(conversationId: string): Message[] {
    const state = this.#conversations.get(conversationId);
    if (state === undefined || state.pending.size === 0) return [];
    state.lastSeen = Math.min(...state.pending.keys()) - 1;
    return this.#drain(state);
  }

  /**
   * Applies an edit or reaction change to a message still buffered beyond a gap, so it
   * is current when delivered (delivered ones are the app's to update).
   */
  applyToBuffered(conversationId: string, change: MessageChange): void {
    const state = this.#conversations.get(conversationId);
    if (state === undefined) return;
    const id = changedMessageId(change);
    for (const [seq, message] of state.pending) {
      if (message.id === id) state.pending.set(seq, applyMessageChange(message, change));
    }
  }

  /** Stop tracking a conversation (left it, or it is gone); returns what was buffered, in order. */
  forget(conversationId: string): Message[] {
    const state = this.#conversations.get(conversationId);
    if (state === undefined) return [];
    this.#conversations.delete(conversationId);
    return [...state.pending.values()].sort((a, b) => a.seq - b.seq);
  }

  /**
   * lastSeen per conversation, the `limit` most recently active ones in
   * `conversations` and the rest in `overflow`.
   */
  snapshot(limit = Number.POSITIVE_INFINITY): {
    conversations: Record<string, number>;
    overflow: string[];
  } {
    const byRecency = [...this.#conversations].sort(([, a], [, b]) => b.touched - a.touched);
    const conversations: Record<string, number> = {};
    const overflow: string[] = [];
    for (const [id, state] of byRecency) {
      if (Object.keys(conversations).length < limit) conversations[id] = state.lastSeen;
      else overflow.push(id);
    }
    return { conversations, overflow };
  }

  #start(conversationId: string, lastSeen: number): ConversationState {
    const state: ConversationState = {
      lastSeen,
      pending: new Map(),
      ids: new Map(),
      touched: ++this.#tick,
    };
    this.#conversations.set(conversationId, state);
    this.#known.add(conversationId);
    return state;
  }

  #drain(state: ConversationState): Message[] {
    const out: Message[] = [];
    for (let next = state.pending.get(state.lastSeen + 1); next !== undefined;) {
      state.pending.delete(next.seq);
      if (!state.ids.has(next.id)) {
        this.#record(state, next);
        out.push(next);
      } else {
        state.lastSeen = next.seq;
      }
      next = state.pending.get(state.lastSeen + 1);
    }
    return out;
  }

  #record(state: ConversationState, message: Message): void {
    state.lastSeen = message.seq;
    state.ids.set(message.id, message.seq);
    // Prune in batches so the cost per message stays constant.
    if (state.ids.size > this.#window * 2) {
      const floor = state.lastSeen - this.#window;
      for (const [id, seq] of state.ids) if (seq < floor) state.ids.delete(id);
    }
  }
}
