// ParleyClient: every REST endpoint of the route catalogue through one typed
// `call()`, thin named methods over it, the session (with proactive and on-401
// single-flight refresh), and `connect()` for the realtime connection.
import {
  ATTACHMENT_ROUTES,
  FILE_NAME_HEADER,
  ROUTES,
  attachmentResponseSchema,
  problemSchema,
  type Attachment,
  type Conversation,
  type ConversationsResponse,
  type HistoryResponse,
  type MentionsResponse,
  type Message,
  type RoomBan,
  type RoomMembersResponse,
  type RoomRole,
  type UserRef,
  type PresenceResponse,
  type RepliesResponse,
  type RouteName,
  type RouteSpec,
  type ServiceName,
  type TokenResponse,
  type User,
} from '@parley/contracts';
import { ParleyApiError, ParleyResponseError } from './errors';
import {
  defaultName,
  defaultType,
  rangeHeader,
  sizeOf,
  uploadBody,
  type DownloadOptions,
  type UploadOptions,
  type UploadSource,
} from './attachment-transfer';
import { RealtimeConnection } from './realtime-connection';
import type {
  ConversationsPageRequest,
  HistoryPageRequest,
  RealtimeOptions,
} from './realtime-options';
import {
  buildQuery,
  fillPath,
  parseRetryAfter,
  type CallArgs,
  type CallOptions,
  type CallResult,
  type RouteInput,
} from './route-request';
import { SessionManager, sessionFromTokens, type SessionState } from './session';

export interface ParleyClientOptions {
  /** Base URL of the auth service (http://localhost:5001). */
  authUrl?: string;
  /** Base URL of the chat service (http://localhost:5002). */
  chatUrl?: string;
  /** Base URL of the websocket service's HTTP side (http://localhost:5003); the socket is at its /ws. */
  websocketUrl?: string;
  /** The WebSocket URL, when it is not `websocketUrl` + /ws with ws(s)://. */
  realtimeUrl?: string;
  /** A session saved earlier (see onSession). */
  session?: SessionState | null;
  /** Called after every login, refresh and logout, so an app can persist the tokens. */
  onSession?: (session: SessionState | null) => void;
  /** Refresh the access token this long before it expires (60 000 ms; at most half its life). */
  refreshMarginMs?: number;
  /** Headers sent with every request (e.g. X-Request-Id in tests). */
  headers?: Readonly<Record<string, string>>;
  fetch?: typeof fetch;
  /** Clock, ms since the epoch. */
  now?: () => number;
}

const DEFAULT_URLS: Record<ServiceName, string> = {
  auth: 'http://localhost:5001',
  chat: 'http://localhost:5002',
  websocket: 'http://localhost:5003',
};

type Loose = Record<string, unknown>;
/** A catalogue route, or one of the raw-body attachment routes. */
export type ClientRouteName = RouteName | keyof typeof ATTACHMENT_ROUTES;

export class ParleyClient {
  readonly #urls: Record<ServiceName, string>;
  readonly #realtimeUrl: string;
  readonly #fetch: typeof fetch;
  readonly #now: () => number;
  readonly #headers: Readonly<Record<string, string>>;
  readonly #session: SessionManager;

  constructor(options: ParleyClientOptions = {}) {
    const trim = (url: string) => url.replace(/\/+$/, '');
    this.#urls = {
      auth: trim(options.authUrl ?? DEFAULT_URLS.auth),
      chat: trim(options.chatUrl ?? DEFAULT_URLS.chat),
      websocket: trim(options.websocketUrl ?? DEFAULT_URLS.websocket),
    };
    this.#realtimeUrl =
      options.realtimeUrl ?? `${this.#urls.websocket.replace(/^http(s?):/, 'ws$1:')}/ws`;
    this.#fetch = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
    this.#now = options.now ?? Date.now;
    this.#headers = options.headers ?? {};
    this.#session = new SessionManager({
      refresh: (refreshToken) => this.call('refresh', { body: { refreshToken } }),
      now: this.#now,
      refreshMarginMs: options.refreshMarginMs ?? 60_000,
      initial: options.session,
    });
    if (options.onSession) this.#session.subscribe(options.onSession);
  }

  /** The current session (tokens, expiry, user), or null when logged out. */
  get session(): SessionState | null {
    return this.#session.current;
  }

  /** The logged-in user, or null. */
  get user(): User | null {
    return this.#session.current?.user ?? null;
  }

  /** Replace the session (e.g. one restored from storage); null logs out locally. */
  setSession(session: SessionState | null): void {
    this.#session.set(session);
  }

  /**
   * Call any route of the catalogue: fills the path, adds the query, sends the body as
   * JSON with the bearer token, and parses the answer with the route's response
   * schema. A non-2xx answer throws ParleyApiError. On a 401 `unauthorized` the token
   * is refreshed (once, shared by concurrent calls) and the call retried.
   */
  async call<N extends RouteName>(name: N, ...args: CallArgs<N>): Promise<CallResult<N>> {
    const route: RouteSpec = ROUTES[name];
    const options = (args[0] ?? {}) as CallOptions<N> & {
      params?: Loose;
      query?: Loose;
      body?: unknown;
    };
    const url =
      this.#urls[route.service] + fillPath(route.path, options.params) + buildQuery(options.query);

    let token = route.auth ? await this.#session.accessToken() : undefined;
    let response = await this.#send(route, url, options, token);
    if (response.status === 401 && token !== undefined) {
      const error = await this.#apiError(name, response);
      if (error.code !== 'unauthorized') throw error;
      try {
        token = (await this.#session.refresh(token)).accessToken;
      } catch {
        throw error;
      }
      response = await this.#send(route, url, options, token);
    }
    if (!response.ok) throw await this.#apiError(name, response);
    if (route.success.schema === undefined) {
      await response.body?.cancel();
      return undefined as CallResult<N>;
    }
    const parsed = route.success.schema.safeParse(await response.json().catch(() => undefined));
    if (!parsed.success) throw new ParleyResponseError(name, response.status, parsed.error.issues);
    return parsed.data as CallResult<N>;
  }

  // ---- auth ----

  /** Create an account (does not log in). */
  async register(body: RouteInput<'register', 'body'>): Promise<User> {
    return (await this.call('register', { body })).user;
  }

  /** Log in; the session is kept and reported to onSession. */
  async login(body: RouteInput<'login', 'body'>): Promise<TokenResponse> {
    const tokens = await this.call('login', { body });
    this.#session.set(sessionFromTokens(tokens, this.#now()));
    return tokens;
  }

  /** Refresh the tokens now (single-flight with any refresh under way). */
  refresh(): Promise<SessionState> {
    return this.#session.refresh();
  }

  /** Revoke the refresh token and forget the session (locally even if the call fails). */
  async logout(): Promise<void> {
    const session = this.#session.current;
    if (session === null) return;
    try {
      await this.call('logout', { body: { refreshToken: session.refreshToken } });
    } finally {
      this.#session.set(null);
    }
  }

  /**
   * Log out everywhere: every session of the user ends (other devices' refresh tokens
   * stop working and their sockets close with 4001); this one is forgotten too.
   */
  async logoutAll(): Promise<void> {
    await this.call('logoutAll');
    this.#session.set(null);
  }

  /**
   * Change the password. Every session ends, this one included: log in again with the
   * new password. A wrong current password throws ParleyApiError `invalid_credentials`.
   */
  async changePassword(body: RouteInput<'changePassword', 'body'>): Promise<void> {
    await this.call('changePassword', { body });
    this.#session.set(null);
  }

  async me(): Promise<User> {
    return (await this.call('me')).user;
  }

  async getUser(username: string): Promise<User> {
    return (await this.call('getUserByUsername', { params: { username } })).user;
  }

  /** Users by id; unknown ids are left out. */
  async getUsers(ids: readonly string[]): Promise<User[]> {
    return (await this.call('getUsersByIds', { query: { ids: ids.join(',') } })).users;
  }

  // ---- chat ----

  /** Send over REST (idempotent on clientMsgId). */
  async send(body: RouteInput<'sendMessage', 'body'>): Promise<Message> {
    return (await this.call('sendMessage', { body })).message;
  }

  history(query: RouteInput<'history', 'query'>): Promise<HistoryResponse> {
    return this.call('history', { query });
  }

  conversations(query: RouteInput<'conversations', 'query'> = {}): Promise<ConversationsResponse> {
    return this.call('conversations', { query });
  }

  markRead(conversationId: string, seq: number): Promise<void> {
    return this.call('markRead', { params: { id: conversationId }, body: { seq } });
  }

  typing(conversationId: string, isTyping: boolean): Promise<void> {
    return this.call('typing', { body: { conversationId, isTyping } });
  }

  async createRoom(body: RouteInput<'createRoom', 'body'>): Promise<Conversation> {
    return (await this.call('createRoom', { body })).conversation;
  }

  async listRooms(): Promise<Conversation[]> {
    return (await this.call('listRooms')).rooms;
  }

  async getRoom(id: string): Promise<Conversation> {
    return (await this.call('getRoom', { params: { id } })).conversation;
  }

  async joinRoom(id: string): Promise<Conversation> {
    return (await this.call('joinRoom', { params: { id } })).conversation;
  }

  async leaveRoom(id: string): Promise<Conversation> {
    return (await this.call('leaveRoom', { params: { id } })).conversation;
  }

  async invite(roomId: string, username: string): Promise<Conversation> {
    return (await this.call('inviteToRoom', { params: { id: roomId }, body: { username } }))
      .conversation;
  }

  // ---- room moderation (owners and admins; docs/design.md §10) ----

  async updateRoom(id: string, body: RouteInput<'updateRoom', 'body'>): Promise<Conversation> {
    return (await this.call('updateRoom', { params: { id }, body })).conversation;
  }

  async setRoomRole(roomId: string, username: string, role: RoomRole): Promise<Conversation> {
    return (await this.call('setRoomRole', { params: { id: roomId, username }, body: { role } }))
      .conversation;
  }

  async removeRoomMember(roomId: string, username: string): Promise<Conversation> {
    return (await this.call('removeRoomMember', { params: { id: roomId, username } })).conversation;
  }

  async ban(roomId: string, username: string, reason?: string): Promise<Conversation> {
    const body = reason === undefined ? { username } : { username, reason };
    return (await this.call('banFromRoom', { params: { id: roomId }, body })).conversation;
  }

  unban(roomId: string, username: string): Promise<void> {
    return this.call('unbanFromRoom', { params: { id: roomId, username } });
  }

  /**
   * A page of a room's members, ordered by user id: pass the answer's `nextCursor` as
   * `after` for the next page (left out on the last). For rooms whose conversation
   * says `membersComplete: false`.
   */
  roomMembers(
    roomId: string,
    query: RouteInput<'listRoomMembers', 'query'> = {},
  ): Promise<RoomMembersResponse> {
    return this.call('listRoomMembers', { params: { id: roomId }, query });
  }

  async roomBans(roomId: string): Promise<RoomBan[]> {
    return (await this.call('listRoomBans', { params: { id: roomId } })).bans;
  }

  // ---- blocking, muting, mentions ----

  block(username: string): Promise<void> {
    return this.call('block', { body: { username } });
  }

  unblock(username: string): Promise<void> {
    return this.call('unblock', { params: { username } });
  }

  async blocks(): Promise<UserRef[]> {
    return (await this.call('listBlocks')).users;
  }

  /** Mutes until `until` (an ISO time), or until unmuted when left out. */
  mute(conversationId: string, until?: string): Promise<void> {
    return this.call('mute', {
      params: { id: conversationId },
      body: until === undefined ? {} : { until },
    });
  }

  unmute(conversationId: string): Promise<void> {
    return this.call('unmute', { params: { id: conversationId } });
  }

  mentions(query: RouteInput<'mentions', 'query'> = {}): Promise<MentionsResponse> {
    return this.call('mentions', { query });
  }

  async editMessage(id: string, text: string): Promise<Message> {
    return (await this.call('editMessage', { params: { id }, body: { text } })).message;
  }

  deleteMessage(id: string): Promise<void> {
    return this.call('deleteMessage', { params: { id } });
  }

  async react(id: string, emoji: string): Promise<Message> {
    return (await this.call('addReaction', { params: { id }, body: { emoji } })).message;
  }

  async unreact(id: string, emoji: string): Promise<Message> {
    return (await this.call('removeReaction', { params: { id, emoji } })).message;
  }

  replies(id: string, query: RouteInput<'replies', 'query'> = {}): Promise<RepliesResponse> {
    return this.call('replies', { params: { id }, query });
  }

  /** Online status of users, across all websocket instances. */
  async presence(userIds: readonly string[]): Promise<PresenceResponse['presence']> {
    return (await this.call('presence', { query: { userIds: userIds.join(',') } })).presence;
  }

  // ---- attachments ----

  /**
   * Upload a file (sent afterwards with `send({attachmentIds})`). With `onProgress`
   * the body is streamed and counted as it goes out (fetch's streaming request
   * bodies: Node, and browsers that support them).
   */
  async uploadAttachment(source: UploadSource, options: UploadOptions = {}): Promise<Attachment> {
    const route = ATTACHMENT_ROUTES.uploadAttachment;
    const token = await this.#session.accessToken();
    const headers: Record<string, string> = {
      accept: 'application/json',
      ...this.#headers,
      authorization: `Bearer ${token}`,
      'content-type': defaultType(source, options.contentType),
      [FILE_NAME_HEADER]: encodeURIComponent(defaultName(source, options.name)),
    };
    const size = sizeOf(source);
    const body = uploadBody(source, options.onProgress);
    const init: RequestInit & { duplex?: 'half' } = { method: 'POST', headers, body };
    if (body instanceof ReadableStream) init.duplex = 'half';
    if (options.signal !== undefined) init.signal = options.signal;
    const response = await this.#fetch(this.#urls.chat + route.path, init);
    if (!response.ok) throw await this.#apiError('uploadAttachment', response);
    const parsed = attachmentResponseSchema.safeParse(await response.json().catch(() => undefined));
    if (!parsed.success) {
      throw new ParleyResponseError('uploadAttachment', response.status, parsed.error.issues);
    }
    if (size !== undefined) options.onProgress?.({ sent: size, total: size });
    return parsed.data.attachment;
  }

  /**
   * Download a file; the answer's body is a stream (read it with `arrayBuffer()`,
   * `blob()` or `body`). A range is answered 206 with only those bytes.
   */
  async downloadAttachment(id: string, options: DownloadOptions = {}): Promise<Response> {
    const route = ATTACHMENT_ROUTES.downloadAttachment;
    const token = await this.#session.accessToken();
    const headers: Record<string, string> = { ...this.#headers, authorization: `Bearer ${token}` };
    const range = rangeHeader(options.range);
    if (range !== undefined) headers.range = range;
    const init: RequestInit = { method: 'GET', headers };
    if (options.signal !== undefined) init.signal = options.signal;
    const response = await this.#fetch(this.#urls.chat + fillPath(route.path, { id }), init);
    if (!response.ok) throw await this.#apiError('downloadAttachment', response);
    return response;
  }

  // ---- realtime ----

  /** A realtime connection that is not started yet (call `start()`). */
  realtime(options: RealtimeOptions = {}): RealtimeConnection {
    return new RealtimeConnection(
      {
        url: this.#realtimeUrl,
        tokens: this.#session,
        history: (request: HistoryPageRequest) => this.history(request),
        conversations: (request: ConversationsPageRequest) => this.conversations(request),
      },
      { now: this.#now, ...options },
    );
  }

  /** Opens the realtime connection; resolves once it is ready and caught up. */
  async connect(options: RealtimeOptions = {}): Promise<RealtimeConnection> {
    const connection = this.realtime(options);
    await connection.start();
    return connection;
  }

  // ---- plumbing ----

  #send(
    route: RouteSpec,
    url: string,
    options: { body?: unknown; signal?: AbortSignal },
    token: string | undefined,
  ): Promise<Response> {
    const headers: Record<string, string> = { accept: 'application/json', ...this.#headers };
    if (token !== undefined) headers.authorization = `Bearer ${token}`;
    const init: RequestInit = { method: route.method.toUpperCase(), headers };
    if (options.body !== undefined) {
      headers['content-type'] = 'application/json';
      init.body = JSON.stringify(options.body);
    }
    if (options.signal !== undefined) init.signal = options.signal;
    return this.#fetch(url, init);
  }

  async #apiError(name: ClientRouteName, response: Response): Promise<ParleyApiError> {
    const text = await response.text().catch(() => '');
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    const problem = problemSchema.safeParse(json);
    const retryAfter = parseRetryAfter(response.headers.get('retry-after'), this.#now());
    if (problem.success) {
      return new ParleyApiError({
        route: name,
        status: response.status,
        code: problem.data.code,
        detail: problem.data.detail,
        errors: problem.data.errors,
        retryAfter,
        problem: problem.data,
      });
    }
    return new ParleyApiError({
      route: name,
      status: response.status,
      code: 'unexpected_response',
      detail: text.slice(0, 500) || response.statusText,
      retryAfter,
    });
  }
}
