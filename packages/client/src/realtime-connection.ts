// The realtime connection: one WebSocket to the websocket service that stays up on
// its own and hands the app every message of a conversation exactly once, in seq
// order.
//
// - Reconnects after any close it did not ask for, with exponential backoff and full
//   jitter; refreshes the token first when the server said it was refused (4001, or
//   401 at the upgrade), and sends `{type:"auth"}` with a fresh one before the current
//   one expires on a long-lived socket.
// - After every `ready` it sends `resume` with the last seen seq per conversation; the
//   server replays what was missed and says `resumed`. `complete:false` means the
//   replay was cut short, and the rest is paged from /chat/history?after=.
// - After every `ready` it also loads the conversation list (/chat/conversations,
//   paged, bounded), so conversations created or joined while it was away are found.
//   Where tracking of a conversation it did not know starts (see `#startSeq`): before
//   the first list has loaded ("first sync"), at the conversation's current seq; after
//   it, at 0 — the conversation is new to this session, so all of it is delivered.
// - Every message (live, replayed, paged, or our own send's ack) goes through a
//   SeqTracker: seen seqs/ids are dropped, a seq beyond lastSeen+1 waits while the gap
//   is fetched from history, and delivery is in order once it is filled.
// - `send()` frames carry a `ref`; a send whose ack was lost with the socket is sent
//   again with the same ref after reconnecting, and the server answers a repeated ref
//   with the original message, so nothing is lost or doubled.
import {
  RESUME_MAX_CONVERSATIONS,
  WS_CLOSE,
  serverFrameSchema,
  type ClientFrameInput,
  type ConversationRef,
  type ConversationsResponse,
  type HistoryResponse,
  type Message,
  type ServerFrameOf,
} from '@parley/contracts';
import { backoffDelay } from './backoff';
import { ParleyApiError, ParleyRealtimeError, isSessionRejected } from './errors';
import { PendingRequests, type SendInput } from './pending-requests';
import type { MessageSource, RealtimeEvents } from './realtime-events';
import {
  resolveOptions,
  type RealtimeDeps,
  type RealtimeOptions,
  type ResolvedOptions,
} from './realtime-options';
import { SeqTracker } from './seq-tracker';
import {
  openTransport,
  type CloseInfo,
  type Transport,
  type WebSocketConstructor,
} from './socket-transport';
import { TypedEmitter } from './typed-emitter';

/** Wait between attempts at a refresh that keeps failing for a passing reason. */
const TOKEN_RETRY_MS = 5000;

/** The largest page GET /chat/conversations answers. */
const CONVERSATIONS_PAGE_MAX = 100;

/** One socket's lifetime; stale sockets' events are recognised and ignored. */
interface Connection {
  transport: Transport | null;
  token: string;
  ready: boolean;
  ended: boolean;
  readyTimer?: ReturnType<typeof setTimeout> | undefined;
  resumeTimer?: ReturnType<typeof setTimeout> | undefined;
  /** Loading the conversation list after `ready`, and catching up what it revealed. */
  discovery?: Promise<void> | undefined;
  timers: Set<ReturnType<typeof setTimeout>>;
}

export class RealtimeConnection extends TypedEmitter<RealtimeEvents> {
  readonly #deps: RealtimeDeps;
  readonly #opts: ResolvedOptions;
  readonly #webSocket: WebSocketConstructor | undefined;
  readonly #tracker: SeqTracker;
  readonly #conversationRefs = new Map<string, ConversationRef>();
  readonly #pending: PendingRequests;
  readonly #syncs = new Map<string, Promise<void>>();
  readonly #catchUp = new Set<string>();
  readonly #sleeps = new Set<{ timer: ReturnType<typeof setTimeout>; wake: () => void }>();
  #conn: Connection | null = null;
  #reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  #attempt = 0;
  #refreshBeforeConnect = false;
  #resuming = false;
  /** The first conversation list has loaded: conversations learned from now on are new to this session. */
  #synced = false;
  /** From `ready`: who we are, to tell whether a `conversation_updated` makes us a member. */
  #userId: string | undefined;
  #closed = false;
  #started: Promise<void> | null = null;
  #settleStart: { resolve: () => void; reject: (error: unknown) => void } | null = null;
  #unsubscribe: (() => void) | null = null;

  constructor(deps: RealtimeDeps, options: RealtimeOptions = {}) {
    super();
    this.#deps = deps;
    this.#webSocket = options.webSocket;
    this.#opts = resolveOptions(options);
    this.#pending = new PendingRequests(this.#opts);
    this.#tracker = new SeqTracker({
      window: this.#opts.dedupeWindow,
      ...(options.seed === undefined ? {} : { seed: options.seed }),
    });
  }

  /**
   * Connects, and resolves once the first connection is ready and caught up
   * (`resumed`). Rejects if the session is refused or `close()` is called first;
   * network failures are retried meanwhile. Calling it again returns the same promise.
   */
  start(): Promise<void> {
    if (this.#started !== null) return this.#started;
    if (this.#closed)
      return Promise.reject(new ParleyRealtimeError('closed', 'the connection is closed'));
    this.#started = new Promise<void>((resolve, reject) => {
      this.#settleStart = { resolve, reject };
    });
    this.#unsubscribe = this.#deps.tokens.subscribe(() => this.#onSessionChange());
    void this.#open();
    return this.#started;
  }

  /** True while a socket is open and the server has said `ready`. */
  get isReady(): boolean {
    return this.#conn?.ready === true;
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
    this.#deliver(this.#tracker.seed(conversationId, seq), 'history');
  }

  /** Stop tracking a conversation (e.g. after leaving a room). */
  untrack(conversationId: string): void {
    this.#catchUp.delete(conversationId);
    this.#tracker.forget(conversationId);
  }

  /**
   * Sends a message over the socket. Resolves with the stored message when the `ack`
   * comes (the message is also delivered as a `message` event with source `ack`);
   * rejects with the server's `error` frame, on timeout, or when closed. Survives
   * reconnects: the same ref is sent again and the server answers it once.
   */
  send(input: SendInput): Promise<Message> {
    if (this.#closed) {
      return Promise.reject(new ParleyRealtimeError('closed', 'the connection is closed'));
    }
    const { frame, acked } = this.#pending.send(input);
    if (this.#conn?.ready) this.#sendFrame(frame);
    return acked;
  }

  /** Typing indicator; best effort (false when not connected). */
  typing(conversationId: string, isTyping: boolean): boolean {
    return (
      this.#conn?.ready === true && this.#sendFrame({ type: 'typing', conversationId, isTyping })
    );
  }

  /** Read marker; best effort (false when not connected — use REST markRead to be sure). */
  read(conversationId: string, seq: number): boolean {
    return this.#conn?.ready === true && this.#sendFrame({ type: 'read', conversationId, seq });
  }

  /** Watch users' presence; kept across reconnects. */
  presenceSubscribe(userIds: readonly string[]): void {
    this.#pending.watchPresence(userIds);
    if (this.#conn?.ready) this.#sendFrame({ type: 'presence_subscribe', userIds: [...userIds] });
  }

  /** Sends a `ping`; resolves with the round trip in ms when the `pong` comes. */
  ping(timeoutMs = this.#opts.heartbeatTimeoutMs): Promise<number> {
    const conn = this.#conn;
    if (conn === null || !conn.ready) {
      return Promise.reject(new ParleyRealtimeError('closed', 'not connected'));
    }
    const pong = this.#pending.ping(timeoutMs);
    this.#sendFrame({ type: 'ping' });
    return pong;
  }

  /** Closes for good: no reconnect; pending sends are rejected. Safe to call twice. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#unsubscribe?.();
    clearTimeout(this.#reconnectTimer);
    for (const sleep of this.#sleeps) {
      clearTimeout(sleep.timer);
      sleep.wake();
    }
    this.#sleeps.clear();
    const conn = this.#conn;
    this.#conn = null;
    if (conn !== null) {
      this.#endConnection(conn);
      conn.transport?.close(1000, 'client closed');
    }
    this.#pending.rejectSends(new ParleyRealtimeError('closed', 'the connection was closed'));
    this.#settleStart?.reject(new ParleyRealtimeError('closed', 'closed before connecting'));
    this.#settleStart = null;
    this.emit('disconnected', { code: 1000, reason: 'client closed', willReconnect: false });
  }

  // ---- connecting ----

  async #open(): Promise<void> {
    if (this.#closed) return;
    let token: string | undefined;
    try {
      if (this.#refreshBeforeConnect) {
        await this.#deps.tokens.refresh(this.#conn?.token);
        this.#refreshBeforeConnect = false;
      }
      token = await this.#deps.tokens.accessToken();
    } catch (error) {
      if (isSessionRejected(error)) return this.#fail(error);
      return this.#scheduleReconnect({ code: 1006, reason: 'token refresh failed' });
    }
    if (this.#closed) return;
    if (token === undefined) return this.#fail(new Error('not logged in'));

    const conn: Connection = {
      transport: null,
      token,
      ready: false,
      ended: false,
      timers: new Set(),
    };
    this.#conn = conn;
    const url = new URL(this.#deps.url);
    url.searchParams.set('token', token);
    try {
      conn.transport = await openTransport(
        url.toString(),
        {
          open: () => {
            conn.readyTimer = this.#later(conn, this.#opts.readyTimeoutMs, () =>
              this.#drop(conn, 'no ready'),
            );
          },
          message: (text) => {
            if (!conn.ended) this.#onText(conn, text);
          },
          close: (info) => this.#onClose(conn, info),
        },
        this.#webSocket,
      );
    } catch {
      this.#onClose(conn, { code: 1006, reason: 'could not open a socket' });
    }
    if (this.#closed) conn.transport?.close(1000, 'client closed');
  }

  #onClose(conn: Connection, info: CloseInfo): void {
    if (conn.ended) return;
    this.#endConnection(conn);
    if (this.#conn !== conn || this.#closed) return;
    if (info.code === WS_CLOSE.tokenExpired || info.upgradeStatus === 401) {
      this.#refreshBeforeConnect = true;
    }
    this.#scheduleReconnect(info);
  }

  #scheduleReconnect(info: { code: number; reason: string }): void {
    if (this.#closed) return;
    const delayMs = backoffDelay(this.#attempt++, {
      baseMs: this.#opts.baseMs,
      maxMs: this.#opts.maxMs,
      random: this.#opts.random,
    });
    this.emit('disconnected', {
      code: info.code,
      reason: info.reason,
      willReconnect: true,
      delayMs,
    });
    clearTimeout(this.#reconnectTimer);
    this.#reconnectTimer = setTimeout(() => void this.#open(), delayMs);
  }

  /** The session was refused: stop for good. */
  #fail(error: unknown): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#unsubscribe?.();
    const conn = this.#conn;
    if (conn !== null) {
      this.#endConnection(conn);
      conn.transport?.close(1000, 'session refused');
    }
    this.#pending.rejectSends(
      new ParleyRealtimeError('closed', 'the session was refused; log in again'),
    );
    this.#settleStart?.reject(error);
    this.#settleStart = null;
    this.emit('disconnected', {
      code: 1008,
      reason: 'session refused',
      willReconnect: false,
      error,
    });
  }

  /** Give up on a socket that stopped answering, without waiting for a closing handshake. */
  #drop(conn: Connection, reason: string): void {
    const transport = conn.transport;
    this.#onClose(conn, { code: 4000, reason });
    transport?.terminate();
  }

  #endConnection(conn: Connection): void {
    conn.ended = true;
    conn.ready = false;
    for (const timer of conn.timers) clearTimeout(timer);
    conn.timers.clear();
    this.#resuming = false;
    this.#pending.rejectPings();
  }

  /** A timer that dies with its connection. */
  #later(conn: Connection, ms: number, fn: () => void): ReturnType<typeof setTimeout> | undefined {
    if (conn.ended) return undefined;
    const timer = setTimeout(() => {
      conn.timers.delete(timer);
      if (!conn.ended) fn();
    }, ms);
    conn.timers.add(timer);
    return timer;
  }

  #cancel(conn: Connection, timer: ReturnType<typeof setTimeout> | undefined): void {
    if (timer === undefined) return;
    clearTimeout(timer);
    conn.timers.delete(timer);
  }

  #sendFrame(frame: ClientFrameInput): boolean {
    return this.#conn?.transport?.send(JSON.stringify(frame)) ?? false;
  }

  // ---- frames ----

  #onText(conn: Connection, text: string): void {
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (error) {
      this.emit('invalid_frame', { data: text, error: error as Error });
      return;
    }
    const parsed = serverFrameSchema.safeParse(json);
    if (!parsed.success) {
      this.emit('invalid_frame', { data: text, error: parsed.error });
      return;
    }
    const frame = parsed.data;
    switch (frame.type) {
      case 'ready':
        this.#onReady(conn, frame);
        return;
      case 'message':
        this.#conversationRefs.set(frame.conversation.id, frame.conversation);
        this.#accept(frame.message, this.#resuming ? 'resume' : 'live');
        return;
      case 'ack': {
        this.#accept(frame.message, 'ack');
        this.#pending.acked(frame.ref, frame.message);
        return;
      }
      case 'error':
        if (!this.#pending.refused(frame)) this.emit('error', frame);
        return;
      case 'resumed':
        void this.#onResumed(conn, frame.complete);
        return;
      case 'pong':
        this.#pending.pong();
        return;
      case 'conversation_updated': {
        const { conversation } = frame;
        this.#remember(conversation);
        this.emit('conversation_updated', frame);
        // Created, joined or invited into: track it (unless the app's listener just did).
        if (conversation.members.some((m) => m.id === this.#userId)) {
          void this.#learn(conversation.id, conversation.lastSeq);
        }
        return;
      }
      case 'message_updated':
        this.emit('message_updated', frame);
        return;
      case 'typing':
        this.emit('typing', frame);
        return;
      case 'read':
        this.emit('read', frame);
        return;
      case 'presence':
        this.emit('presence', frame);
        return;
    }
  }

  #onReady(conn: Connection, frame: ServerFrameOf<'ready'>): void {
    if (conn.ready) return;
    this.#cancel(conn, conn.readyTimer);
    conn.ready = true;
    this.#attempt = 0;
    this.#userId = frame.userId;
    this.emit('connected', frame);
    if (conn.ended) return;

    // Replay what was missed, then re-send unacknowledged sends (same refs) and
    // re-subscribe to presence.
    const { conversations, overflow } = this.#tracker.snapshot(RESUME_MAX_CONVERSATIONS);
    for (const id of overflow) this.#catchUp.add(id);
    this.#resuming = true;
    this.#sendFrame({ type: 'resume', conversations });
    // Meanwhile, find conversations we do not track (created or joined while away).
    conn.discovery = this.#discover(conn);
    // No `resumed` in time (the server refused the frame, say): catch up over REST.
    conn.resumeTimer = this.#later(conn, this.#opts.readyTimeoutMs, () => {
      void this.#onResumed(conn, false);
    });
    for (const again of this.#pending.replay()) this.#sendFrame(again);
    this.#scheduleHeartbeat(conn);
    this.#scheduleTokenRefresh(conn);
  }

  async #onResumed(conn: Connection, complete: boolean): Promise<void> {
    if (!this.#resuming || this.#conn !== conn) return;
    this.#cancel(conn, conn.resumeTimer);
    if (!complete) for (const id of this.#tracker.tracked()) this.#catchUp.add(id);
    this.#resuming = false;
    const syncs = [...new Set([...this.#catchUp, ...this.#tracker.conversationsWithGaps()])].map(
      (id) => this.#sync(id),
    );
    await Promise.all([...syncs, conn.discovery]);
    if (this.#closed || conn.ended) return;
    this.emit('resumed', { complete });
    this.#settleStart?.resolve();
    this.#settleStart = null;
  }

  // ---- delivery ----

  #accept(message: Message, source: MessageSource): void {
    const id = message.conversationId;
    if (!this.#tracker.isTracked(id)) this.#tracker.seed(id, this.#startSeq(id, message.seq - 1));
    const result = this.#tracker.accept(message);
    this.#deliver(result.deliver, source);
    if (result.status === 'buffered' && !this.#resuming) void this.#sync(message.conversationId);
  }

  #deliver(messages: Message[], source: MessageSource): void {
    for (const message of messages) {
      this.emit('message', {
        message,
        conversation: this.#conversationRefs.get(message.conversationId),
        source,
      });
    }
  }

  // ---- learning which conversations exist ----

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

  /**
   * Tracks a conversation learned of from the list or a `conversation_updated` frame,
   * and catches up over REST what it already holds beyond the starting point (no
   * `resume` named it). Resolves once caught up.
   */
  #learn(conversationId: string, lastSeq: number): Promise<void> {
    if (this.#tracker.isTracked(conversationId)) return Promise.resolve();
    const from = this.#startSeq(conversationId, lastSeq);
    this.#tracker.seed(conversationId, from);
    if (from >= lastSeq) return Promise.resolve();
    this.#catchUp.add(conversationId);
    return this.#sync(conversationId);
  }

  #remember(conversation: ConversationRef): void {
    const { id, kind, name } = conversation;
    this.#conversationRefs.set(id, { id, kind, ...(name === undefined ? {} : { name }) });
  }

  /**
   * After `ready`: pages /chat/conversations (newest activity first, at most
   * conversationListMax) and tracks every conversation not tracked yet, catching up
   * those new to this session. Failures are retried while the socket lives; the first
   * complete load is the "first sync". Resolves once the list is loaded and caught up.
   */
  async #discover(conn: Connection): Promise<void> {
    const list = this.#deps.conversations;
    if (list === undefined) return;
    const catchUps: Promise<void>[] = [];
    let before: string | undefined;
    let listed = 0;
    let failures = 0;
    let loaded = true;
    for (;;) {
      let page: ConversationsResponse;
      try {
        page = await list({
          limit: Math.min(CONVERSATIONS_PAGE_MAX, this.#opts.conversationListMax - listed),
          ...(before === undefined ? {} : { before }),
        });
        failures = 0;
      } catch (error) {
        if (this.#closed || conn.ended || isSessionRejected(error)) return;
        this.emit('sync_error', { error });
        if (isPermanent(error)) {
          // This server will not list them: do without (no first sync either, so
          // conversations keep starting at the first message seen, as without a list).
          loaded = false;
          break;
        }
        await this.#sleep(this.#retryDelay(error, failures++));
        if (this.#closed || conn.ended) return;
        continue;
      }
      // A socket that closed meanwhile: the next `ready` starts over.
      if (this.#closed || conn.ended) return;
      for (const conversation of page.conversations) {
        if (!this.#conversationRefs.has(conversation.id)) this.#remember(conversation);
        catchUps.push(this.#learn(conversation.id, conversation.lastSeq));
      }
      listed += page.conversations.length;
      if (page.nextCursor === undefined || listed >= this.#opts.conversationListMax) break;
      before = page.nextCursor;
    }
    if (loaded) this.#synced = true;
    await Promise.all(catchUps);
  }

  // ---- history ----

  /** One history sync per conversation at a time; it loops until nothing is missing. */
  #sync(conversationId: string): Promise<void> {
    const running = this.#syncs.get(conversationId);
    if (running !== undefined) return running;
    const run = this.#runSync(conversationId).finally(() => this.#syncs.delete(conversationId));
    this.#syncs.set(conversationId, run);
    return run;
  }

  /**
   * Pages /chat/history?after=lastSeen while the conversation needs a catch-up (until
   * hasMore is false) or has a gap (until it is filled). A gap that several rounds
   * cannot fill is given up on, so buffered messages are never held forever.
   */
  async #runSync(conversationId: string): Promise<void> {
    let failures = 0;
    let emptyRounds = 0;
    while (!this.#closed) {
      const wantsAll = this.#catchUp.has(conversationId);
      const after = this.#tracker.lastSeen(conversationId);
      if (after === undefined || (!wantsAll && !this.#tracker.hasGap(conversationId))) {
        this.#catchUp.delete(conversationId);
        return;
      }
      let page: HistoryResponse;
      try {
        page = await this.#deps.history({
          conversationId,
          after,
          limit: this.#opts.historyPageSize,
        });
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
          this.#deliver(this.#tracker.forget(conversationId), 'live');
          return;
        }
        this.emit('sync_error', { conversationId, error });
        await this.#sleep(this.#retryDelay(error, failures++));
        continue;
      }
      for (const message of page.messages) {
        this.#deliver(this.#tracker.accept(message).deliver, 'history');
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
      if (++emptyRounds >= this.#opts.maxGapRounds) {
        this.#catchUp.delete(conversationId);
        if (hasGap) {
          this.emit('sync_error', {
            conversationId,
            error: new Error(`seq ${after + 1} is missing from history; skipped`),
          });
          this.#deliver(this.#tracker.skipGap(conversationId), 'live');
        }
        emptyRounds = 0;
        continue;
      }
      await this.#sleep(this.#backoff(emptyRounds - 1));
    }
  }

  /** Backoff before retrying a failed REST call; at least the server's Retry-After. */
  #retryDelay(error: unknown, attempt: number): number {
    const delay = this.#backoff(attempt);
    if (!(error instanceof ParleyApiError) || error.retryAfter === undefined) return delay;
    return Math.max(delay, Math.min(error.retryAfter * 1000, this.#opts.maxMs));
  }

  #backoff(attempt: number): number {
    return backoffDelay(attempt, {
      baseMs: Math.min(this.#opts.baseMs, 1000),
      maxMs: this.#opts.maxMs,
      random: this.#opts.random,
    });
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const entry = {
        timer: setTimeout(() => {
          this.#sleeps.delete(entry);
          resolve();
        }, ms),
        wake: resolve,
      };
      this.#sleeps.add(entry);
    });
  }

  // ---- keeping the socket alive and authorised ----

  #scheduleHeartbeat(conn: Connection): void {
    if (this.#opts.heartbeatIntervalMs <= 0) return;
    this.#later(conn, this.#opts.heartbeatIntervalMs, () => {
      this.ping(this.#opts.heartbeatTimeoutMs).then(
        () => this.#scheduleHeartbeat(conn),
        () => {
          if (!conn.ended) this.#drop(conn, 'no pong');
        },
      );
    });
  }

  /** Before the token expires, refresh it; the session listener then sends `auth`. */
  #scheduleTokenRefresh(conn: Connection, retryMs = 0): void {
    const due = this.#deps.tokens.refreshDueAt();
    if (due === undefined) return;
    const delay = Math.max(retryMs, due - this.#opts.now());
    this.#later(conn, delay, () => {
      // accessToken() refreshes when due, and keeps a still-valid token when a
      // refresh fails for a passing reason; a still-due refresh is retried later.
      this.#deps.tokens.accessToken().then(
        () => this.#scheduleTokenRefresh(conn, TOKEN_RETRY_MS),
        (error: unknown) => {
          if (isSessionRejected(error)) this.#fail(error);
          else this.#scheduleTokenRefresh(conn, TOKEN_RETRY_MS);
        },
      );
    });
  }

  #onSessionChange(): void {
    const conn = this.#conn;
    if (conn === null || !conn.ready) return;
    void this.#deps.tokens.accessToken().then(
      (token) => {
        if (token === undefined || conn.ended || token === conn.token) return;
        conn.token = token;
        this.#sendFrame({ type: 'auth', token });
      },
      () => undefined,
    );
  }
}

/** A refusal that retrying will not change (a 4xx other than 401, 408 and 429). */
function isPermanent(error: unknown): boolean {
  return (
    error instanceof ParleyApiError &&
    error.status >= 400 &&
    error.status < 500 &&
    ![401, 408, 429].includes(error.status)
  );
}

/** A realtime connection over any token source and history fetcher (the client's `connect()` wires both). */
export function createRealtime(
  deps: RealtimeDeps,
  options: RealtimeOptions = {},
): RealtimeConnection {
  return new RealtimeConnection(deps, options);
}
