// Catching up, so the app misses nothing across disconnects. After every `ready` it
// sends `resume` with the last seen seq of every tracked conversation, in frames of
// RESUME_MAX_CONVERSATIONS, one at a time (the server runs one per socket): each next
// frame after the previous one's `resumed`, matched by its ref. Conversations a
// `resumed` names in `notFound` are not ours (any more) and stop being tracked;
// `complete: false` means a replay was cut short and every conversation is caught up
// over REST. Then, and
// whenever a live message reveals a gap, it pages /chat/history?after=lastSeen, one
// run per conversation at a time, until nothing is missing. A gap that history cannot
// fill after a few rounds (a server bug: seqs have no holes) is reported and skipped,
// so later messages are not held forever.
import {
  RESUME_MAX_CONVERSATIONS,
  type HistoryResponse,
  type Message,
  type ServerFrameOf,
} from '@parley/contracts';
import type { DeliveryLedger } from './delivery-ledger';
import { ParleyApiError } from './errors';
import type { MessageSource, RealtimeEmit } from './realtime-events';
import type { RealtimeDeps, ResolvedOptions } from './realtime-options';
import type { RetrySleeps } from './retry-sleeps';
import type { SeqTracker } from './seq-tracker';
import type { Connection, SocketLifecycle } from './socket-lifecycle';

export interface ConversationSyncDeps {
  history: RealtimeDeps['history'];
  tracker: SeqTracker;
  ledger: DeliveryLedger;
  socket: SocketLifecycle;
  retries: RetrySleeps;
  options: ResolvedOptions;
  emit: RealtimeEmit;
  /** Caught up after a (re)connect, just after `resumed` was emitted. */
  onCaughtUp(): void;
}

export class ConversationSync {
  readonly #deps: ConversationSyncDeps;
  readonly #tracker: SeqTracker;
  readonly #ledger: DeliveryLedger;
  /** Conversations to page until history has no more (not just until a gap is filled). */
  readonly #catchUp = new Set<string>();
  readonly #runs = new Map<string, Promise<void>>();
  #resuming = false;
  /** The resume frame in flight (its ref), the ones still to send, and what they said so far. */
  #replay: { ref: string; rest: Record<string, number>[]; complete: boolean } | undefined;

  constructor(deps: ConversationSyncDeps) {
    this.#deps = deps;
    this.#tracker = deps.tracker;
    this.#ledger = deps.ledger;
  }

  /** Between `resume` and `resumed`: messages are replayed, and gaps wait for the end of the replay. */
  get resuming(): boolean {
    return this.#resuming;
  }

  /** After `ready`: asks the server to replay what was missed, and catches up over REST if no `resumed` comes in time. */
  resume(conn: Connection): void {
    const entries = Object.entries(this.#tracker.snapshot().conversations);
    const frames: Record<string, number>[] = [];
    for (let i = 0; i < entries.length; i += RESUME_MAX_CONVERSATIONS)
      frames.push(Object.fromEntries(entries.slice(i, i + RESUME_MAX_CONVERSATIONS)));
    this.#resuming = true;
    this.#replay = { ref: '', rest: frames.length > 0 ? frames : [{}], complete: true };
    this.#sendNextResume();
    // No `resumed` in time (the server refused the frame, say): catch up over REST.
    conn.resumeTimer = conn.later(this.#deps.options.readyTimeoutMs, () => {
      this.#replay = undefined;
      void this.resumed(conn, false);
    });
  }

  /** A `resumed`: forgets what is not ours, then sends the next resume frame or finishes. */
  answered(conn: Connection, frame: ServerFrameOf<'resumed'>): void {
    const replay = this.#replay;
    if (replay === undefined || (frame.ref !== undefined && frame.ref !== replay.ref)) return;
    for (const id of frame.notFound ?? []) this.untrack(id);
    replay.complete &&= frame.complete;
    if (replay.rest.length > 0) {
      this.#sendNextResume();
      return;
    }
    this.#replay = undefined;
    void this.resumed(conn, replay.complete);
  }

  #sendNextResume(): void {
    const replay = this.#replay;
    const conversations = replay?.rest.shift();
    if (replay === undefined || conversations === undefined) return;
    replay.ref = `resume-${globalThis.crypto.randomUUID()}`;
    this.#deps.socket.send({ type: 'resume', ref: replay.ref, conversations });
  }

  /** The replay is over: fill every gap and catch-up, wait for the conversation list, then say `resumed`. */
  async resumed(conn: Connection, complete: boolean): Promise<void> {
    const socket = this.#deps.socket;
    if (!this.#resuming || socket.current !== conn) return;
    conn.cancel(conn.resumeTimer);
    if (!complete) for (const id of this.#tracker.tracked()) this.#catchUp.add(id);
    this.#resuming = false;
    const syncs = [...new Set([...this.#catchUp, ...this.#tracker.conversationsWithGaps()])].map(
      (id) => this.#sync(id),
    );
    await Promise.all([...syncs, conn.discovery]);
    if (socket.closed || conn.ended) return;
    this.#deps.emit('resumed', { complete });
    this.#deps.onCaughtUp();
  }

  /** The socket ended: a resume under way ends with it (the next `ready` starts one over). */
  socketEnded(): void {
    this.#resuming = false;
    this.#replay = undefined;
  }

  /** A message from the socket; a gap it reveals is filled now, or at the end of a replay under way. */
  receive(message: Message, source: MessageSource): void {
    const status = this.#ledger.accept(message, source);
    if (status === 'buffered' && !this.#resuming) void this.#sync(message.conversationId);
  }

  /**
   * Tracks a conversation learned of from the list or a `conversation_updated` frame,
   * and catches up over REST what it already holds beyond the starting point (no
   * `resume` named it). Resolves once caught up.
   */
  learn(conversationId: string, lastSeq: number): Promise<void> {
    const from = this.#ledger.startTracking(conversationId, lastSeq);
    if (from === undefined || from >= lastSeq) return Promise.resolve();
    this.#catchUp.add(conversationId);
    return this.#sync(conversationId);
  }

  untrack(conversationId: string): void {
    this.#catchUp.delete(conversationId);
    this.#tracker.forget(conversationId);
  }

  /** One history sync per conversation at a time; it loops until nothing is missing. */
  #sync(conversationId: string): Promise<void> {
    const running = this.#runs.get(conversationId);
    if (running !== undefined) return running;
    const run = this.#runSync(conversationId).finally(() => this.#runs.delete(conversationId));
    this.#runs.set(conversationId, run);
    return run;
  }

  /**
   * Pages /chat/history?after=lastSeen while the conversation needs a catch-up (until
   * hasMore is false) or has a gap (until it is filled). A gap that several rounds
   * cannot fill is given up on, so buffered messages are never held forever.
   */
  async #runSync(conversationId: string): Promise<void> {
    const { socket, retries, options, emit } = this.#deps;
    let failures = 0;
    let emptyRounds = 0;
    while (!socket.closed) {
      const wantsAll = this.#catchUp.has(conversationId);
      const after = this.#tracker.lastSeen(conversationId);
      if (after === undefined || (!wantsAll && !this.#tracker.hasGap(conversationId))) {
        this.#catchUp.delete(conversationId);
        return;
      }
      let page: HistoryResponse;
      try {
        page = await this.#deps.history({ conversationId, after, limit: options.historyPageSize });
        failures = 0;
      } catch (error) {
        if (
          error instanceof ParleyApiError &&
          (error.code === 'not_a_member' ||
            error.code === 'conversation_not_found' ||
            error.status === 404)
        ) {
          // No longer ours to read: hand over what is buffered and stop tracking it.
          this.#catchUp.delete(conversationId);
          this.#ledger.deliver(this.#tracker.forget(conversationId), 'live');
          return;
        }
        emit('sync_error', { conversationId, error });
        await retries.afterFailure(error, failures++);
        continue;
      }
      for (const message of page.messages) {
        this.#ledger.deliver(this.#tracker.accept(message).deliver, 'history');
      }
      if (!page.hasMore) this.#catchUp.delete(conversationId);
      if ((this.#tracker.lastSeen(conversationId) ?? after) > after) {
        emptyRounds = 0;
        continue;
      }
      const hasGap = this.#tracker.hasGap(conversationId);
      if (!hasGap && !this.#catchUp.has(conversationId)) return;
      // Nothing filled: the missing message may not be visible yet (a concurrent
      // writer); wait, and give up after a few rounds so nothing is held forever.
      if (++emptyRounds >= options.maxGapRounds) {
        this.#catchUp.delete(conversationId);
        if (hasGap) {
          emit('sync_error', {
            conversationId,
            error: new Error(`seq ${after + 1} is missing from history; skipped`),
          });
          this.#ledger.deliver(this.#tracker.skipGap(conversationId), 'live');
        }
        emptyRounds = 0;
        continue;
      }
      await retries.afterEmptyRound(emptyRounds - 1);
    }
  }
}
