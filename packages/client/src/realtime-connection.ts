// The realtime connection: one WebSocket to the websocket service that stays up on
// its own and hands the app every message of a conversation exactly once, in seq
// order. This class is the app's side of it — the methods and events — and wires the
// parts that do the work, one concern each:
//
// - socket-lifecycle.ts: open, reconnect with backoff, heartbeat, token refresh;
// - frame-handlers.ts: parse each server frame and route it by `type`;
// - pending-requests.ts: sends awaiting their ack, pings, presence subscriptions;
// - delivery-ledger.ts: dedupe and in-order delivery (over the SeqTracker);
// - conversation-sync.ts: `resume` after every `ready` (frames of 100, one at a time),
//   gap filling and catch-up from /chat/history;
// - conversation-discovery.ts: conversations created or joined while away, from
//   /chat/conversations.
import type { Message } from '@parley/contracts';
import { ConversationDiscovery } from './conversation-discovery';
import { ConversationSync } from './conversation-sync';
import { DeliveryLedger } from './delivery-ledger';
import { ParleyRealtimeError } from './errors';
import { createFrameHandlers } from './frame-handlers';
import { PendingRequests, type SendInput } from './pending-requests';
import type { DisconnectInfo, RealtimeEmit, RealtimeEvents } from './realtime-events';
import {
  resolveOptions,
  type RealtimeDeps,
  type RealtimeOptions,
  type ResolvedOptions,
} from './realtime-options';
import { RetrySleeps } from './retry-sleeps';
import { SeqTracker } from './seq-tracker';
import { SocketLifecycle } from './socket-lifecycle';
import { TypedEmitter } from './typed-emitter';

export class RealtimeConnection extends TypedEmitter<RealtimeEvents> {
  readonly #deps: RealtimeDeps;
  readonly #opts: ResolvedOptions;
  readonly #tracker: SeqTracker;
  readonly #ledger: DeliveryLedger;
  readonly #pending: PendingRequests;
  readonly #retries: RetrySleeps;
  readonly #socket: SocketLifecycle;
  readonly #sync: ConversationSync;
  #started: Promise<void> | null = null;
  #settleStart: { resolve: () => void; reject: (error: unknown) => void } | null = null;
  #unsubscribe: (() => void) | null = null;

  constructor(deps: RealtimeDeps, options: RealtimeOptions = {}) {
    super();
    const emit: RealtimeEmit = (event, ...args) => this.emit(event, ...args);
    this.#deps = deps;
    this.#opts = resolveOptions(options);
    this.#tracker = new SeqTracker({
      window: this.#opts.dedupeWindow,
      ...(options.seed === undefined ? {} : { seed: options.seed }),
    });
    this.#ledger = new DeliveryLedger(this.#tracker, emit);
    this.#pending = new PendingRequests(this.#opts);
    this.#retries = new RetrySleeps(this.#opts);
    // The socket comes first: sync, discovery and the frame handlers send through it.
    // Its callbacks reach them by name; only socket events call those, after this
    // constructor has built everything.
    this.#socket = new SocketLifecycle({
      url: deps.url,
      tokens: deps.tokens,
      webSocket: options.webSocket,
      options: this.#opts,
      emit,
      onText: (conn, text) => frames.handle(conn, text),
      onEnded: () => {
        this.#sync.socketEnded();
        this.#pending.rejectPings();
      },
      onRefused: (error) =>
        this.#stopped(
          new ParleyRealtimeError('closed', 'the session was refused; log in again'),
          error,
          { code: 1008, reason: 'session refused', willReconnect: false, error },
        ),
      ping: (timeoutMs) => this.ping(timeoutMs),
    });
    this.#sync = new ConversationSync({
      history: deps.history,
      tracker: this.#tracker,
      ledger: this.#ledger,
      socket: this.#socket,
      retries: this.#retries,
      options: this.#opts,
      emit,
      onCaughtUp: () => {
        this.#settleStart?.resolve();
        this.#settleStart = null;
      },
    });
    const discovery = new ConversationDiscovery({
      conversations: deps.conversations,
      ledger: this.#ledger,
      sync: this.#sync,
      socket: this.#socket,
      retries: this.#retries,
      options: this.#opts,
      emit,
    });
    const frames = createFrameHandlers({
      emit,
      socket: this.#socket,
      pending: this.#pending,
      ledger: this.#ledger,
      sync: this.#sync,
      discovery,
    });
  }

  /**
   * Connects, and resolves once the first connection is ready and caught up
   * (`resumed`). Rejects if the session is refused or `close()` is called first;
   * network failures are retried meanwhile. Calling it again returns the same promise.
   */
  start(): Promise<void> {
    if (this.#started !== null) return this.#started;
    if (this.#socket.closed)
      return Promise.reject(new ParleyRealtimeError('closed', 'the connection is closed'));
    this.#started = new Promise<void>((resolve, reject) => {
      this.#settleStart = { resolve, reject };
    });
    this.#unsubscribe = this.#deps.tokens.subscribe(() => this.#socket.sessionChanged());
    void this.#socket.open();
    return this.#started;
  }

  /** True while a socket is open and the server has said `ready`. */
  get isReady(): boolean {
    return this.#socket.isReady;
  }

  /** The last seq delivered to the app for a conversation; undefined when not tracked. */
  lastSeenSeq(conversationId: string): number | undefined {
    return this.#tracker.lastSeen(conversationId);
  }

  /** lastSeen of every tracked conversation (what the next `resume` will name). */
  trackedConversations(): Record<string, number> {
    return this.#tracker.snapshot().conversations;
  }

  /**
   * Tell the connection the app has a conversation up to `seq` (e.g. after loading its
   * history): later messages are checked for gaps against it. Never moves backwards.
   */
  track(conversationId: string, seq: number): void {
    this.#ledger.deliver(this.#tracker.seed(conversationId, seq), 'history');
  }

  /** Stop tracking a conversation (e.g. after leaving a room). */
  untrack(conversationId: string): void {
    this.#sync.untrack(conversationId);
  }

  /**
   * Sends a message over the socket. Resolves with the stored message when the `ack`
   * comes (the message is also delivered as a `message` event with source `ack`);
   * rejects with the server's `error` frame, on timeout, or when closed. Survives
   * reconnects: the same ref is sent again and the server answers it once.
   */
  send(input: SendInput): Promise<Message> {
    if (this.#socket.closed) {
      return Promise.reject(new ParleyRealtimeError('closed', 'the connection is closed'));
    }
    const { frame, acked } = this.#pending.send(input);
    if (this.#socket.isReady) this.#socket.send(frame);
    return acked;
  }

  /** Typing indicator; best effort (false when not connected). */
  typing(conversationId: string, isTyping: boolean): boolean {
    return this.#socket.isReady && this.#socket.send({ type: 'typing', conversationId, isTyping });
  }

  /** Read marker; best effort (false when not connected — use REST markRead to be sure). */
  read(conversationId: string, seq: number): boolean {
    return this.#socket.isReady && this.#socket.send({ type: 'read', conversationId, seq });
  }

  /** Watch users' presence; kept across reconnects. */
  presenceSubscribe(userIds: readonly string[]): void {
    this.#pending.watchPresence(userIds);
    if (this.#socket.isReady) {
      this.#socket.send({ type: 'presence_subscribe', userIds: [...userIds] });
    }
  }

  /** Sends a `ping`; resolves with the round trip in ms when the `pong` comes. */
  ping(timeoutMs = this.#opts.heartbeatTimeoutMs): Promise<number> {
    if (!this.#socket.isReady) {
      return Promise.reject(new ParleyRealtimeError('closed', 'not connected'));
    }
    const pong = this.#pending.ping(timeoutMs);
    this.#socket.send({ type: 'ping' });
    return pong;
  }

  /** Closes for good: no reconnect; pending sends are rejected. Safe to call twice. */
  close(): void {
    if (this.#socket.closed) return;
    this.#socket.close();
    this.#retries.wakeAll();
    this.#stopped(
      new ParleyRealtimeError('closed', 'the connection was closed'),
      new ParleyRealtimeError('closed', 'closed before connecting'),
      { code: 1000, reason: 'client closed', willReconnect: false },
    );
  }

  /** Stopped for good (the socket side is already closed): settle what the app waits on. */
  #stopped(sendsError: ParleyRealtimeError, startError: unknown, info: DisconnectInfo): void {
    this.#unsubscribe?.();
    this.#pending.rejectSends(sendsError);
    this.#settleStart?.reject(startError);
    this.#settleStart = null;
    this.emit('disconnected', info);
  }
}

/** A realtime connection over any token source and history fetcher (the client's `connect()` wires both). */
export function createRealtime(
  deps: RealtimeDeps,
  options: RealtimeOptions = {},
): RealtimeConnection {
  return new RealtimeConnection(deps, options);
}
