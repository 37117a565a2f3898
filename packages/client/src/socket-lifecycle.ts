// One socket at a time to the websocket service, and the next one after it ends. It
// opens a socket with a fresh token; reconnects after any close it did not ask for,
// with backoff and full jitter, refreshing the token first when the server refused
// it (4001, or 401 at the upgrade); drops a socket that stops answering (no `ready`,
// no `pong`) without waiting for a closing handshake; keeps a long-lived socket
// authorised (`auth` with a fresh token before the old one expires); and stops for
// good on close() or when the session is refused. What the frames on a socket mean
// is the frame handlers' business; this file knows when a socket starts and ends.
import { WS_CLOSE, type ClientFrameInput } from '@parley/contracts';
import { backoffDelay } from './backoff';
import { isSessionRejected } from './errors';
import type { RealtimeEmit } from './realtime-events';
import type { ResolvedOptions } from './realtime-options';
import type { TokenSource } from './session';
import {
  openTransport,
  type CloseInfo,
  type Transport,
  type WebSocketConstructor,
} from './socket-transport';

/** Wait between attempts at a refresh that keeps failing for a passing reason. */
const TOKEN_RETRY_MS = 5000;

type Timer = ReturnType<typeof setTimeout>;

/** One socket's lifetime; a stale socket's events are recognised by `ended` and ignored. */
export class Connection {
  transport: Transport | null = null;
  ready = false;
  ended = false;
  readyTimer: Timer | undefined;
  resumeTimer: Timer | undefined;
  /** Loading the conversation list after `ready`, and catching up what it revealed. */
  discovery: Promise<void> | undefined;
  readonly #timers = new Set<Timer>();

  constructor(public token: string) {}

  /** A timer that dies with this socket. */
  later(ms: number, fn: () => void): Timer | undefined {
    if (this.ended) return undefined;
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      if (!this.ended) fn();
    }, ms);
    this.#timers.add(timer);
    return timer;
  }

  cancel(timer: Timer | undefined): void {
    if (timer === undefined) return;
    clearTimeout(timer);
    this.#timers.delete(timer);
  }

  end(): void {
    this.ended = true;
    this.ready = false;
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
  }
}

export interface SocketLifecycleDeps {
  /** ws(s)://host:port/ws — the token is added as `?token=`. */
  url: string;
  tokens: TokenSource;
  webSocket: WebSocketConstructor | undefined;
  options: ResolvedOptions;
  emit: RealtimeEmit;
  /** A text frame from a socket that has not ended. */
  onText(conn: Connection, text: string): void;
  /** A socket ended (closed, dropped, or closed for good): what waited on it fails. */
  onEnded(): void;
  /** The session was refused: the sockets are stopped for good, the rest is the caller's. */
  onRefused(error: unknown): void;
  /** A heartbeat: resolves on the `pong`. */
  ping(timeoutMs: number): Promise<number>;
}

export class SocketLifecycle {
  readonly #deps: SocketLifecycleDeps;
  readonly #opts: ResolvedOptions;
  #conn: Connection | null = null;
  #reconnectTimer: Timer | undefined;
  #attempt = 0;
  #refreshBeforeConnect = false;
  #closed = false;

  constructor(deps: SocketLifecycleDeps) {
    this.#deps = deps;
    this.#opts = deps.options;
  }

  /** Stopped for good (close(), or the session was refused): no socket will open again. */
  get closed(): boolean {
    return this.#closed;
  }

  /** The socket of now, open or on its way; null before start and after close(). */
  get current(): Connection | null {
    return this.#conn;
  }

  /** True while a socket is open and the server has said `ready`. */
  get isReady(): boolean {
    return this.#conn?.ready === true;
  }

  /** Sends a frame on the current socket; false when there is none open. */
  send(frame: ClientFrameInput): boolean {
    return this.#conn?.transport?.send(JSON.stringify(frame)) ?? false;
  }

  async open(): Promise<void> {
    if (this.#closed) return;
    const tokens = this.#deps.tokens;
    let token: string | undefined;
    try {
      if (this.#refreshBeforeConnect) {
        await tokens.refresh(this.#conn?.token);
        this.#refreshBeforeConnect = false;
      }
      token = await tokens.accessToken();
    } catch (error) {
      // refused, or there is no session left to refresh (logged out, e.g. everywhere)
      if (isSessionRejected(error) || tokens.refreshDueAt() === undefined) return this.#fail(error);
      return this.#scheduleReconnect({ code: 1006, reason: 'token refresh failed' });
    }
    if (this.#closed) return;
    if (token === undefined) return this.#fail(new Error('not logged in'));

    const conn = new Connection(token);
    this.#conn = conn;
    const url = new URL(this.#deps.url);
    url.searchParams.set('token', token);
    try {
      conn.transport = await openTransport(
        url.toString(),
        {
          open: () => {
            conn.readyTimer = conn.later(this.#opts.readyTimeoutMs, () =>
              this.#drop(conn, 'no ready'),
            );
          },
          message: (text) => {
            if (!conn.ended) this.#deps.onText(conn, text);
          },
          close: (info) => this.#onClose(conn, info),
        },
        this.#deps.webSocket,
      );
    } catch {
      this.#onClose(conn, { code: 1006, reason: 'could not open a socket' });
    }
    if (this.#closed) conn.transport?.close(1000, 'client closed');
  }

  /** The server said `ready`: the socket is usable, and the reconnect backoff starts over. */
  markReady(conn: Connection): void {
    conn.cancel(conn.readyTimer);
    conn.ready = true;
    this.#attempt = 0;
  }

  /** Heartbeat and token refresh for a ready socket, until it ends. */
  keepAlive(conn: Connection): void {
    this.#scheduleHeartbeat(conn);
    this.#scheduleTokenRefresh(conn);
  }

  /** The session changed (say, refreshed by a REST call): a ready socket gets the new token. */
  sessionChanged(): void {
    const conn = this.#conn;
    if (conn === null || !conn.ready) return;
    void this.#deps.tokens.accessToken().then(
      (token) => {
        if (token === undefined || conn.ended || token === conn.token) return;
        conn.token = token;
        this.send({ type: 'auth', token });
      },
      () => undefined,
    );
  }

  /** Stops for good: closes the socket, and no reconnect follows. */
  close(): void {
    this.#stop('client closed');
  }

  #stop(reason: string): void {
    this.#closed = true;
    clearTimeout(this.#reconnectTimer);
    const conn = this.#conn;
    this.#conn = null;
    if (conn === null) return;
    this.#end(conn);
    conn.transport?.close(1000, reason);
  }

  /** The session was refused: stop for good. */
  #fail(error: unknown): void {
    if (this.#closed) return;
    this.#stop('session refused');
    this.#deps.onRefused(error);
  }

  #onClose(conn: Connection, info: CloseInfo): void {
    if (conn.ended) return;
    this.#end(conn);
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
    this.#deps.emit('disconnected', {
      code: info.code,
      reason: info.reason,
      willReconnect: true,
      delayMs,
    });
    clearTimeout(this.#reconnectTimer);
    this.#reconnectTimer = setTimeout(() => void this.open(), delayMs);
  }

  /** Give up on a socket that stopped answering, without waiting for a closing handshake. */
  #drop(conn: Connection, reason: string): void {
    const transport = conn.transport;
    this.#onClose(conn, { code: 4000, reason });
    transport?.terminate();
  }

  #end(conn: Connection): void {
    conn.end();
    this.#deps.onEnded();
  }

  #scheduleHeartbeat(conn: Connection): void {
    if (this.#opts.heartbeatIntervalMs <= 0) return;
    conn.later(this.#opts.heartbeatIntervalMs, () => {
      this.#deps.ping(this.#opts.heartbeatTimeoutMs).then(
        () => this.#scheduleHeartbeat(conn),
        () => {
          if (!conn.ended) this.#drop(conn, 'no pong');
        },
      );
    });
  }

  /** Before the token expires, refresh it; sessionChanged() then sends `auth`. */
  #scheduleTokenRefresh(conn: Connection, retryMs = 0): void {
    const due = this.#deps.tokens.refreshDueAt();
    if (due === undefined) return;
    const delay = Math.max(retryMs, due - this.#opts.now());
    conn.later(delay, () => {
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
}
