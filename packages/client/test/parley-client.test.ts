// The REST side of the client against a real HTTP server on port 0.
import { ParleyApiError, ParleyClient, ParleyResponseError, type SessionState } from '../src';
import { FakeParley, json, message, problem, summary } from './support/fake-parley';

describe('ParleyClient REST', () => {
  let server: FakeParley;
  let sessions: Array<SessionState | null>;
  const clientFor = (extra: ConstructorParameters<typeof ParleyClient>[0] = {}) =>
    new ParleyClient({
      authUrl: server.url,
      chatUrl: server.url,
      websocketUrl: server.url,
      onSession: (s) => sessions.push(s),
      ...extra,
    });

  beforeEach(async () => {
    server = await new FakeParley().start();
    sessions = [];
  });
  afterEach(() => server.stop());

  it('When logging in, then the session is kept, reported to onSession and used as the bearer token', async () => {
    let seenAuth: string | undefined;
    server.routes.set('GET /auth/me', (req, res) => {
      seenAuth = req.headers.authorization;
      json(res, 200, {
        user: {
          id: 'u-alice',
          username: 'alice',
          displayName: 'Alice',
          createdAt: '2025-01-01T00:00:00.000Z',
        },
      });
    });
    const client = clientFor();

    const tokens = await client.login({ username: 'alice', password: 'correct horse' });
    const me = await client.me();

    expect(tokens.accessToken).toBe('access-1');
    expect(client.session).toMatchObject({
      accessToken: 'access-1',
      refreshToken: 'refresh-token-number-1',
    });
    expect(sessions).toHaveLength(1);
    expect(seenAuth).toBe('Bearer access-1');
    expect(me.username).toBe('alice');
  });

  it('When calling routes with params, query and body, then the path is filled and the JSON sent', async () => {
    const seen: Array<{ method: string; url: string; body: unknown }> = [];
    const record = (respond: (res: Parameters<typeof json>[0]) => void) =>
      ((req, res) => {
        seen.push({ method: req.method ?? '', url: req.url, body: req.body });
        respond(res);
      }) as Parameters<typeof server.routes.set>[1];
    const m = message('room 1', 3);
    server.routes.set(
      'DELETE /chat/messages/m%201/reactions/%F0%9F%91%8D',
      record((res) => json(res, 200, { message: m })),
    );
    server.routes.set(
      'POST /chat/conversations/room%201/read',
      record((res) => json(res, 204)),
    );
    server.store.set('room 1', [m]);
    const client = clientFor();
    await client.login({ username: 'alice', password: 'pw' });

    const unreacted = await client.unreact('m 1', '👍');
    const read = await client.markRead('room 1', 3);
    const history = await client.history({ conversationId: 'room 1', after: 2, limit: 10 });

    expect(unreacted).toEqual(m);
    expect(read).toBeUndefined();
    expect(seen).toEqual([
      { method: 'DELETE', url: '/chat/messages/m%201/reactions/%F0%9F%91%8D', body: undefined },
      { method: 'POST', url: '/chat/conversations/room%201/read', body: { seq: 3 } },
    ]);
    expect(server.historyCalls).toEqual([{ conversationId: 'room 1', after: 2, limit: 10 }]);
    expect(history.messages).toEqual([m]);
  });

  it('When calling the moderation, blocking, muting and mentions methods, then each sends its method, path and body', async () => {
    const seen: Array<{ method: string; url: string; body: unknown }> = [];
    const room = summary('room 1', 0);
    const conversation = {
      ...room,
      members: [{ id: 'u-alice', username: 'alice', role: 'owner' as const }],
    };
    const reply = (status: number, body?: unknown) =>
      ((req, res) => {
        seen.push({ method: req.method ?? '', url: req.url, body: req.body });
        json(res, status, body);
      }) as Parameters<typeof server.routes.set>[1];
    server.routes.set('PUT /chat/rooms/room%201/roles/bob', reply(200, { conversation }));
    server.routes.set('PATCH /chat/rooms/room%201', reply(200, { conversation }));
    server.routes.set('POST /chat/rooms/room%201/bans', reply(200, { conversation }));
    server.routes.set('DELETE /chat/rooms/room%201/bans/bob', reply(204));
    server.routes.set('POST /chat/blocks', reply(204));
    server.routes.set('POST /chat/conversations/room%201/mute', reply(204));
    server.routes.set('GET /chat/mentions', reply(200, { messages: [], hasMore: false }));
    const client = clientFor();
    await client.login({ username: 'alice', password: 'pw' });

    const promoted = await client.setRoomRole('room 1', 'bob', 'admin');
    await client.updateRoom('room 1', { description: 'be kind' });
    await client.ban('room 1', 'bob', 'spam');
    await client.unban('room 1', 'bob');
    await client.block('bob');
    await client.mute('room 1');
    const mentions = await client.mentions({ limit: 5 });

    expect(promoted.members[0]?.role).toBe('owner');
    expect(mentions).toEqual({ messages: [], hasMore: false });
    expect(seen).toEqual([
      { method: 'PUT', url: '/chat/rooms/room%201/roles/bob', body: { role: 'admin' } },
      { method: 'PATCH', url: '/chat/rooms/room%201', body: { description: 'be kind' } },
      {
        method: 'POST',
        url: '/chat/rooms/room%201/bans',
        body: { username: 'bob', reason: 'spam' },
      },
      { method: 'DELETE', url: '/chat/rooms/room%201/bans/bob', body: undefined },
      { method: 'POST', url: '/chat/blocks', body: { username: 'bob' } },
      { method: 'POST', url: '/chat/conversations/room%201/mute', body: {} },
      { method: 'GET', url: '/chat/mentions?limit=5', body: undefined },
    ]);
  });

  it('When the server answers problem+json, then ParleyApiError carries status, code, detail, errors and retryAfter', async () => {
    server.routes.set('POST /chat/send', (_req, res) =>
      problem(
        res,
        429,
        'rate_limited',
        'slow down',
        { errors: [{ path: 'text', message: 'x' }] },
        { 'retry-after': '12' },
      ),
    );
    const client = clientFor();
    await client.login({ username: 'alice', password: 'pw' });

    const error = await client.send({ to: 'bob', text: 'hi' }).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(ParleyApiError);
    expect(error).toMatchObject({
      route: 'sendMessage',
      status: 429,
      code: 'rate_limited',
      detail: 'slow down',
      errors: [{ path: 'text', message: 'x' }],
      retryAfter: 12,
    });
  });

  it('When an error body is not problem+json, then the code is unexpected_response with the text as detail', async () => {
    server.routes.set('GET /chat/rooms', (_req, res) => {
      res.writeHead(502, { 'content-type': 'text/html' });
      res.end('<h1>Bad gateway</h1>');
    });
    const client = clientFor();
    await client.login({ username: 'alice', password: 'pw' });

    await expect(client.listRooms()).rejects.toMatchObject({
      status: 502,
      code: 'unexpected_response',
      detail: '<h1>Bad gateway</h1>',
    });
  });

  it('When a 2xx body breaks the contract, then ParleyResponseError names the route and the field', async () => {
    server.routes.set('GET /chat/rooms', (_req, res) => json(res, 200, { rooms: [{ id: 1 }] }));
    const client = clientFor();
    await client.login({ username: 'alice', password: 'pw' });

    const error = await client.listRooms().catch((e: unknown) => e);

    expect(error).toBeInstanceOf(ParleyResponseError);
    expect((error as Error).message).toMatch(/listRooms.*rooms\.0\.id/);
  });

  it('When concurrent calls get 401 unauthorized, then one refresh is shared and every call is retried once', async () => {
    let calls = 0;
    server.routes.set('GET /chat/rooms', (_req, res) => {
      calls++;
      json(res, 200, { rooms: [] });
    });
    const client = clientFor();
    await client.login({ username: 'alice', password: 'pw' });
    server.validTokens.clear(); // the access token is no longer accepted

    const results = await Promise.all([client.listRooms(), client.listRooms(), client.listRooms()]);

    expect(results).toEqual([[], [], []]);
    expect(server.refreshCount).toBe(1);
    expect(calls).toBe(3);
    expect(client.session?.accessToken).toBe('access-2');
    expect(sessions.map((s) => s?.accessToken)).toEqual(['access-1', 'access-2']);
  });

  it('When the access token is close to expiry, then it is refreshed before the call', async () => {
    let now = Date.UTC(2025, 0, 1);
    server.routes.set('GET /chat/rooms', (req, res) =>
      json(res, 200, { rooms: [], auth: req.headers.authorization }),
    );
    const client = clientFor({ now: () => now, refreshMarginMs: 60_000 });
    await client.login({ username: 'alice', password: 'pw' }); // expires in 900 s

    now += 870_000; // 30 s left: inside the 60 s margin
    await client.listRooms();

    expect(server.refreshCount).toBe(1);
    expect(client.session?.accessToken).toBe('access-2');
  });

  it('When the refresh token is refused, then the session is cleared and the original 401 is thrown', async () => {
    server.routes.set('GET /chat/rooms', (_req, res) => json(res, 200, { rooms: [] }));
    const client = clientFor();
    await client.login({ username: 'alice', password: 'pw' });
    server.validTokens.clear();
    server.revokeRefreshToken();

    await expect(client.listRooms()).rejects.toMatchObject({
      route: 'listRooms',
      status: 401,
      code: 'unauthorized',
    });
    expect(client.session).toBeNull();
    expect(sessions.at(-1)).toBeNull();
  });

  it('When logging out, then the refresh token is revoked on the server and the session forgotten', async () => {
    let revoked: unknown;
    server.routes.set('POST /auth/logout', (req, res) => {
      revoked = req.body;
      json(res, 204);
    });
    const client = clientFor();
    await client.login({ username: 'alice', password: 'pw' });

    await client.logout();

    expect(revoked).toEqual({ refreshToken: 'refresh-token-number-1' });
    expect(client.session).toBeNull();
  });

  it('When logging out everywhere or changing the password, then the route is called with the bearer token and the session forgotten', async () => {
    const calls: { route: string; auth: unknown; body: unknown }[] = [];
    for (const route of ['POST /auth/logout-all', 'POST /auth/password'])
      server.routes.set(route, (req, res) => {
        calls.push({ route, auth: req.headers.authorization, body: req.body });
        json(res, 204);
      });
    const client = clientFor();

    await client.login({ username: 'alice', password: 'pw' });
    await client.logoutAll();
    expect(client.session).toBeNull();
    await client.login({ username: 'alice', password: 'pw' });
    await client.changePassword({ currentPassword: 'pw', newPassword: 'a new password' });

    expect(client.session).toBeNull();
    expect(calls).toEqual([
      { route: 'POST /auth/logout-all', auth: expect.stringMatching(/^Bearer /), body: undefined },
      {
        route: 'POST /auth/password',
        auth: expect.stringMatching(/^Bearer /),
        body: { currentPassword: 'pw', newPassword: 'a new password' },
      },
    ]);
  });

  it('When a session is restored, then it is used without logging in', async () => {
    server.routes.set('GET /chat/rooms', (_req, res) => json(res, 200, { rooms: [] }));
    const tokens = server.issueTokens() as { accessToken: string; refreshToken: string };
    const client = clientFor({
      session: {
        accessToken: tokens.accessToken,
        refreshToken: tokens.refreshToken,
        expiresAt: Date.now() + 600_000,
        user: {
          id: 'u-alice',
          username: 'alice',
          displayName: 'Alice',
          createdAt: '2025-01-01T00:00:00.000Z',
        },
      },
    });

    await expect(client.listRooms()).resolves.toEqual([]);
    expect(server.refreshCount).toBe(0);
  });
});
