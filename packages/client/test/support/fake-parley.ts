// A scripted stand-in for the three Parley services, for the client's component
// tests: a real node:http server (auth login/refresh, chat history from an in-memory
// store, and whatever a test adds) and a real `ws` server at /ws that refuses bad
// tokens with 401 at the upgrade, as the contract says. Tests drive the socket side
// frame by frame.
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { ClientFrame, ConversationSummary, Message, ServerFrame } from '@parley/contracts';
import { waitFor as pollUntil } from '@parley/testing';
import { WebSocket, WebSocketServer } from 'ws';
import {
  ParleyClient,
  type ParleyClientOptions,
  type RealtimeConnection,
  type RealtimeOptions,
} from '../../src';

export type Handler = (
  req: IncomingMessage & { body: unknown; url: string },
  res: ServerResponse,
  url: URL,
) => void | Promise<void>;

export function message(
  conversationId: string,
  seq: number,
  extra: Partial<Message> = {},
): Message {
  return {
    id: `${conversationId}-m${seq}`,
    conversationId,
    seq,
    sender: { id: 'u-bob', username: 'bob' },
    text: `message ${seq}`,
    reactions: {},
    createdAt: new Date(Date.UTC(2025, 0, 1, 0, 0, seq)).toISOString(),
    ...extra,
  };
}

/** A conversation as GET /chat/conversations lists it (alice and bob are members). */
export function summary(
  id: string,
  lastSeq: number,
  extra: Partial<ConversationSummary> = {},
): ConversationSummary {
  return {
    id,
    kind: 'room',
    name: id,
    isPrivate: false,
    members: [
      { id: 'u-alice', username: 'alice' },
      { id: 'u-bob', username: 'bob' },
    ],
    memberCount: 2,
    lastSeq,
    createdAt: '2025-01-01T00:00:00.000Z',
    updatedAt: '2025-01-01T00:00:00.000Z',
    unreadCount: 0,
    mentionCount: 0,
    muted: false,
    lastReadSeq: 0,
    ...extra,
  };
}

export function json(
  res: ServerResponse,
  status: number,
  body?: unknown,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(body === undefined ? undefined : JSON.stringify(body));
}

export function problem(
  res: ServerResponse,
  status: number,
  code: string,
  detail: string,
  extra: Record<string, unknown> = {},
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, { 'content-type': 'application/problem+json', ...headers });
  res.end(
    JSON.stringify({
      type: `https://parley.dev/problems/${code}`,
      title: code,
      status,
      detail,
      code,
      ...extra,
    }),
  );
}

/** One socket the client opened, seen from the server. */
export class ServerConnection {
  readonly frames: ClientFrame[] = [];
  #waiters: Array<{ type: string | undefined; resolve: (f: ClientFrame) => void }> = [];
  #seen = 0;
  readonly closed: Promise<void>;

  constructor(
    readonly socket: WebSocket,
    readonly token: string,
  ) {
    this.closed = once(socket, 'close').then(() => undefined);
    socket.on('message', (data) => {
      const frame = JSON.parse(String(data)) as ClientFrame;
      this.frames.push(frame);
      const waiter = this.#waiters.find((w) => w.type === undefined || w.type === frame.type);
      if (waiter) {
        this.#waiters.splice(this.#waiters.indexOf(waiter), 1);
        waiter.resolve(frame);
      }
    });
  }

  send(frame: ServerFrame | Record<string, unknown> | string): void {
    this.socket.send(typeof frame === 'string' ? frame : JSON.stringify(frame));
  }

  ready(): void {
    this.send({ type: 'ready', userId: 'u-alice', username: 'alice', connectionId: 'c1' });
  }

  /** The next client frame of a type (frames already received count, each once). */
  next<T extends ClientFrame['type']>(
    type: T,
    timeoutMs = 5000,
  ): Promise<Extract<ClientFrame, { type: T }>> {
    const index = this.frames.findIndex((f, i) => i >= this.#seen && f.type === type);
    if (index >= 0) {
      this.#seen = index + 1;
      return Promise.resolve(this.frames[index] as Extract<ClientFrame, { type: T }>);
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`no ${type} frame within ${timeoutMs} ms`)),
        timeoutMs,
      );
      this.#waiters.push({
        type,
        resolve: (f) => {
          clearTimeout(timer);
          this.#seen = this.frames.length;
          resolve(f as Extract<ClientFrame, { type: T }>);
        },
      });
    });
  }
}

export class FakeParley {
  readonly http: Server;
  readonly wss = new WebSocketServer({ noServer: true });
  readonly routes = new Map<string, Handler>();
  /** Messages per conversation, ascending seq, served by /chat/history. */
  readonly store = new Map<string, Message[]>();
  readonly historyCalls: Array<{
    conversationId: string;
    after: number | undefined;
    limit: number;
  }> = [];
  /** Served by GET /chat/conversations in this order (newest activity first), paged. */
  conversationList: ConversationSummary[] = [];
  readonly conversationCalls: Array<{ limit: number; before: string | undefined }> = [];
  readonly validTokens = new Set<string>();
  readonly upgrades: Array<{ token: string; status: number }> = [];
  refreshCount = 0;
  expiresIn = 900;
  #tokenNo = 0;
  #refreshToken = '';
  #connections: ServerConnection[] = [];
  #unclaimed: ServerConnection[] = [];
  #connectionWaiters: Array<(c: ServerConnection) => void> = [];
  /** Called for each accepted socket; by default says `ready` at once. */
  onConnection: (conn: ServerConnection) => void = (conn) => conn.ready();

  constructor() {
    this.http = createServer((req, res) => void this.#handle(req, res));
    this.http.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
      const url = new URL(req.url ?? '/', 'http://x');
      const token = url.searchParams.get('token') ?? '';
      if (url.pathname !== '/ws' || !this.validTokens.has(token)) {
        this.upgrades.push({ token, status: 401 });
        socket.end('HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
        return;
      }
      this.upgrades.push({ token, status: 101 });
      this.wss.handleUpgrade(req, socket, head, (ws) => {
        const conn = new ServerConnection(ws, token);
        this.#connections.push(conn);
        this.onConnection(conn);
        const waiter = this.#connectionWaiters.shift();
        if (waiter) waiter(conn);
        else this.#unclaimed.push(conn);
      });
    });
    this.routes.set('POST /auth/login', (_req, res) => json(res, 200, this.issueTokens()));
    this.routes.set('POST /auth/refresh', (req, res) => {
      const body = req.body as { refreshToken?: string };
      if (body.refreshToken !== this.#refreshToken) {
        problem(res, 401, 'unauthorized', 'refresh token is not valid');
        return;
      }
      this.refreshCount++;
      json(res, 200, this.issueTokens());
    });
    this.routes.set('GET /chat/history', (_req, res, url) => {
      const conversationId = url.searchParams.get('conversationId') ?? '';
      const afterText = url.searchParams.get('after');
      const after = afterText === null ? undefined : Number(afterText);
      const limit = Number(url.searchParams.get('limit') ?? 50);
      this.historyCalls.push({ conversationId, after, limit });
      const all = this.store.get(conversationId) ?? [];
      const newer = all.filter((m) => after === undefined || m.seq > after);
      const page = after === undefined ? newer.slice(-limit) : newer.slice(0, limit);
      json(res, 200, {
        conversationId,
        messages: page,
        hasMore: after !== undefined && newer.length > limit,
      });
    });
    this.routes.set('GET /chat/conversations', this.listConversations);
  }

  /** Starts as the default GET /chat/conversations: one page of conversationList per call. */
  readonly listConversations: Handler = (_req, res, url) => {
    const limit = Number(url.searchParams.get('limit') ?? 20);
    const before = url.searchParams.get('before') ?? undefined;
    this.conversationCalls.push({ limit, before });
    const start = before === undefined ? 0 : Number(before);
    const page = this.conversationList.slice(start, start + limit);
    const next = start + limit;
    json(res, 200, {
      conversations: page,
      ...(next < this.conversationList.length ? { nextCursor: String(next) } : {}),
    });
  };

  get connections(): readonly ServerConnection[] {
    return this.#connections;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.http.address() as AddressInfo).port}`;
  }

  async start(): Promise<this> {
    this.http.listen(0, '127.0.0.1');
    await once(this.http, 'listening');
    return this;
  }

  async stop(): Promise<void> {
    for (const client of this.wss.clients) client.terminate();
    this.wss.close();
    this.http.closeAllConnections();
    await new Promise((resolve) => this.http.close(resolve));
  }

  /** New tokens; the previous refresh token stops working (rotation). */
  issueTokens(): Record<string, unknown> {
    const n = ++this.#tokenNo;
    const accessToken = `access-${n}`;
    this.validTokens.add(accessToken);
    this.#refreshToken = `refresh-token-number-${n}`;
    return {
      accessToken,
      refreshToken: this.#refreshToken,
      tokenType: 'Bearer',
      expiresIn: this.expiresIn,
      user: {
        id: 'u-alice',
        username: 'alice',
        displayName: 'Alice',
        createdAt: '2025-01-01T00:00:00.000Z',
      },
    };
  }

  revokeRefreshToken(): void {
    this.#refreshToken = 'revoked';
  }

  /** The next socket accepted (one accepted earlier and not yet claimed counts). */
  nextConnection(timeoutMs = 5000): Promise<ServerConnection> {
    const unclaimed = this.#unclaimed.shift();
    if (unclaimed) return Promise.resolve(unclaimed);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`no connection within ${timeoutMs} ms`)),
        timeoutMs,
      );
      this.#connectionWaiters.push((c) => {
        clearTimeout(timer);
        resolve(c);
      });
    });
  }

  addMessages(conversationId: string, from: number, to: number): Message[] {
    const list = this.store.get(conversationId) ?? [];
    for (let seq = from; seq <= to; seq++) list.push(message(conversationId, seq));
    list.sort((a, b) => a.seq - b.seq);
    this.store.set(conversationId, list);
    return list.filter((m) => m.seq >= from && m.seq <= to);
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://x');
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks);
    const text = raw.toString();
    // a raw upload (attachments) keeps its bytes; everything else is JSON
    const isJson = (req.headers['content-type'] ?? 'application/json').includes('json');
    const body: unknown = !isJson ? raw : text === '' ? undefined : JSON.parse(text);
    const handler = this.routes.get(`${req.method} ${url.pathname}`);
    if (!handler) {
      problem(res, 404, 'not_found', `no route ${req.method} ${url.pathname}`);
      return;
    }
    const auth = req.headers.authorization;
    const open = url.pathname.startsWith('/auth/') && url.pathname !== '/auth/me';
    if (!open && (auth === undefined || !this.validTokens.has(auth.replace(/^Bearer /, '')))) {
      problem(res, 401, 'unauthorized', 'missing or invalid token');
      return;
    }
    await handler(Object.assign(req, { body, url: req.url ?? '/' }), res, url);
  }
}

/** Bounded poll (every 5 ms: the fakes answer at once) for a condition no event announces. */
export async function waitFor(
  condition: () => boolean,
  timeoutMs = 5000,
  label = 'condition',
): Promise<void> {
  await pollUntil(condition, { timeoutMs, intervalMs: 5, description: label });
}

export { WebSocket };

/** Reconnect fast and skip the heartbeat: tests drive drops themselves. */
export const FAST_REALTIME: RealtimeOptions = {
  backoff: { baseMs: 10, maxMs: 40 },
  heartbeatIntervalMs: 0,
};

/** A `message` frame carrying `m`, in a room named `roomName`. */
export function messageFrame(m: Message, roomName = 'general') {
  return {
    type: 'message',
    message: m,
    conversation: { id: m.conversationId, kind: 'room', name: roomName },
  };
}

/** A client of `server`, logged in as alice. */
export async function loggedInClient(
  server: FakeParley,
  options: Partial<ParleyClientOptions> = {},
): Promise<ParleyClient> {
  const client = new ParleyClient({
    authUrl: server.url,
    chatUrl: server.url,
    websocketUrl: server.url,
    ...options,
  });
  await client.login({ username: 'alice', password: 'pw' });
  return client;
}

/** Starts `rt` and plays ready → resume → resumed; resolves with the server side once caught up. */
export async function startAnswered(
  server: FakeParley,
  rt: RealtimeConnection,
): Promise<ServerConnection> {
  const started = rt.start();
  const conn = await server.nextConnection();
  await conn.next('resume');
  conn.send({ type: 'resumed', complete: true });
  await started;
  return conn;
}
