// The realtime connection against a real `ws` server and HTTP server on port 0 that
// play the server's side of the protocol frame by frame.
import type { Message } from '@parley/contracts';
import {
  ParleyClient,
  ParleyRealtimeError,
  type DisconnectInfo,
  type MessageDelivery,
  type RealtimeConnection,
  type RealtimeOptions,
} from '../src';
import {
  FAST_REALTIME,
  FakeParley,
  loggedInClient,
  message,
  messageFrame,
  startAnswered,
  waitFor,
  type ServerConnection,
} from './support/fake-parley';

describe('RealtimeConnection', () => {
  let server: FakeParley;
  let client: ParleyClient;
  let rt: RealtimeConnection | undefined;
  let delivered: MessageDelivery[];
  let disconnects: DisconnectInfo[];

  const seqsOf = (conversationId: string) =>
    delivered.filter((d) => d.message.conversationId === conversationId).map((d) => d.message.seq);

  /** Starts a connection and plays ready → resume → resumed; returns the server side. */
  async function connect(options: RealtimeOptions = {}): Promise<ServerConnection> {
    rt = client.realtime({ ...FAST_REALTIME, ...options });
    rt.on('message', (d) => delivered.push(d));
    rt.on('disconnected', (d) => disconnects.push(d));
    return startAnswered(server, rt);
  }

  /** The next socket after a drop, with its resume answered. */
  async function reconnected(): Promise<ServerConnection> {
    const conn = await server.nextConnection();
    await conn.next('resume');
    conn.send({ type: 'resumed', complete: true });
    return conn;
  }

  beforeEach(async () => {
    server = await new FakeParley().start();
    client = await loggedInClient(server);
    delivered = [];
    disconnects = [];
    rt = undefined;
  });
  afterEach(async () => {
    rt?.close();
    await server.stop();
  });

  it('When connecting, then it waits for ready, resumes with the seeded seqs at /ws?token=, and start() resolves on resumed', async () => {
    server.onConnection = () => undefined; // ready comes when the test says
    rt = client.realtime({ ...FAST_REALTIME, seed: { c1: 4, c2: 0 } });
    const connected = rt.next('connected');
    const started = rt.start();
    const conn = await server.nextConnection();
    expect(conn.token).toBe('access-1');
    expect(rt.isReady).toBe(false);

    conn.ready();
    await expect(connected).resolves.toMatchObject({ userId: 'u-alice' });
    const resume = await conn.next('resume');
    expect(resume.conversations).toEqual({ c1: 4, c2: 0 });
    const resumed = rt.next('resumed');
    conn.send({ type: 'resumed', complete: true });

    await started;
    await expect(resumed).resolves.toEqual({ complete: true });
    expect(rt.isReady).toBe(true);
  });

  it('When messages arrive duplicated and with a seq gap, then the gap is fetched from history and each is delivered once, in order', async () => {
    server.addMessages('c1', 1, 6);
    const conn = await connect({ seed: { c1: 2 } });
    const [m3, m4, m5, m6] = [3, 4, 5, 6].map((s) => message('c1', s)) as [
      Message,
      Message,
      Message,
      Message,
    ];

    conn.send(messageFrame(m3));
    conn.send(messageFrame(m3));
    conn.send(messageFrame(m6)); // 4 and 5 missing
    await waitFor(() => delivered.length >= 4, 5000, 'the gap to be filled');
    conn.send(messageFrame(m4)); // late live copies of what history delivered
    conn.send(messageFrame({ ...m5, seq: 7 })); // same id, different seq claim
    conn.send(messageFrame(message('c1', 7)));
    await waitFor(() => seqsOf('c1').includes(7), 5000, 'seq 7');

    expect(seqsOf('c1')).toEqual([3, 4, 5, 6, 7]);
    expect(delivered[0]).toMatchObject({
      source: 'live',
      conversation: { id: 'c1', kind: 'room' },
    });
    expect(server.historyCalls).toEqual([{ conversationId: 'c1', after: 3, limit: 100 }]);
    expect(rt?.lastSeenSeq('c1')).toBe(7);
  });

  it('When a send is acked, then it resolves with the stored message, which is also delivered once as source ack', async () => {
    const conn = await connect();

    const sent = rt!.send({ conversationId: 'c1', text: 'hello' });
    const frame = await conn.next('send');
    expect(frame).toMatchObject({ conversationId: 'c1', text: 'hello' });
    expect(frame.ref).toMatch(/^[0-9a-f-]{36}$/);
    const stored = message('c1', 1, {
      clientMsgId: frame.ref,
      sender: { id: 'u-alice', username: 'alice' },
    });
    conn.send({ type: 'ack', ref: frame.ref, message: stored });

    await expect(sent).resolves.toEqual(stored);
    expect(delivered).toEqual([{ message: stored, conversation: undefined, source: 'ack' }]);
    expect(rt!.lastSeenSeq('c1')).toBe(1);
  });

  it('When the server answers a send with an error frame, then send rejects with its code', async () => {
    const conn = await connect();

    const sent = rt!.send({ to: 'nobody', text: 'hi' });
    const frame = await conn.next('send');
    conn.send({ type: 'error', code: 'user_not_found', message: 'no such user', ref: frame.ref });

    const error = await sent.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ParleyRealtimeError);
    expect(error).toMatchObject({ code: 'user_not_found', ref: frame.ref });
  });

  it('When no ack comes in time, then send rejects with timeout', async () => {
    await connect({ ackTimeoutMs: 100 });

    await expect(rt!.send({ conversationId: 'c1', text: 'hi' })).rejects.toMatchObject({
      code: 'timeout',
    });
  });

  it('When the socket drops (1006) while a send waits, then it reconnects, resumes and re-sends the same ref, delivering the message once', async () => {
    const conn1 = await connect({ seed: { c1: 0 } });
    const sent = rt!.send({ conversationId: 'c1', text: 'survive' });
    const first = await conn1.next('send');
    const stored = message('c1', 1, {
      clientMsgId: first.ref,
      sender: { id: 'u-alice', username: 'alice' },
    });
    server.store.set('c1', [stored]);

    conn1.socket.terminate();
    const conn2 = await server.nextConnection();
    const resume = await conn2.next('resume');
    const again = await conn2.next('send');
    // The server replays the stored message, then answers the repeated ref with the original.
    conn2.send(messageFrame(stored));
    conn2.send({ type: 'resumed', complete: true });
    conn2.send({ type: 'ack', ref: again.ref, message: stored });

    await expect(sent).resolves.toEqual(stored);
    expect(resume.conversations).toEqual({ c1: 0 });
    expect(again.ref).toBe(first.ref);
    conn2.send(messageFrame(message('c1', 2))); // a barrier: everything before it is handled
    await waitFor(() => seqsOf('c1').includes(2), 5000, 'seq 2');
    expect(seqsOf('c1')).toEqual([1, 2]);
    expect(disconnects[0]).toMatchObject({ code: 1006, willReconnect: true });
  });

  it('When the server closes with 4001, then the token is refreshed before reconnecting with the new one', async () => {
    const conn1 = await connect();

    conn1.socket.close(4001, 'token expired');
    const conn2 = await reconnected();

    expect(server.refreshCount).toBe(1);
    expect(conn2.token).toBe('access-2');
    await rt!.next('resumed');
  });

  it('When the upgrade is refused with 401, then the token is refreshed and the next attempt uses it', async () => {
    const conn1 = await connect();
    server.validTokens.delete('access-1');

    conn1.socket.terminate();
    const conn2 = await reconnected();

    expect(server.upgrades).toContainEqual({ token: 'access-1', status: 401 });
    expect(conn2.token).toBe('access-2');
    expect(server.refreshCount).toBe(1);
  });

  it('When resumed says complete:false, then the rest is paged from history before resumed is emitted', async () => {
    server.addMessages('c1', 1, 250);
    rt = client.realtime({ ...FAST_REALTIME, seed: { c1: 0 } });
    rt.on('message', (d) => delivered.push(d));
    const resumed = rt.next('resumed');
    const started = rt.start();
    const conn = await server.nextConnection();
    await conn.next('resume');
    for (const m of server.store.get('c1')!.slice(0, 100)) conn.send(messageFrame(m));
    conn.send({ type: 'resumed', complete: false });

    await started;
    await expect(resumed).resolves.toEqual({ complete: false });
    expect(seqsOf('c1')).toEqual(Array.from({ length: 250 }, (_, i) => i + 1));
    expect(delivered.slice(0, 100).every((d) => d.source === 'resume')).toBe(true);
    expect(delivered.slice(100).every((d) => d.source === 'history')).toBe(true);
    expect(server.historyCalls.map((c) => c.after)).toEqual([100, 200]);
  });

  it('When reconnecting, then presence subscriptions are sent again', async () => {
    const conn1 = await connect();
    rt!.presenceSubscribe(['u-bob', 'u-carol']);
    expect((await conn1.next('presence_subscribe')).userIds).toEqual(['u-bob', 'u-carol']);

    conn1.socket.terminate();
    const conn2 = await server.nextConnection();

    expect((await conn2.next('presence_subscribe')).userIds).toEqual(['u-bob', 'u-carol']);
  });

  it('When the token nears expiry on a long-lived socket, then a fresh one is sent in an auth frame', async () => {
    server.expiresIn = 2;
    client = new ParleyClient({
      authUrl: server.url,
      chatUrl: server.url,
      websocketUrl: server.url,
      refreshMarginMs: 1000,
    });
    await client.login({ username: 'alice', password: 'pw' }); // access-2, refresh due in ~1 s
    const conn = await connect();

    const auth = await conn.next('auth', 5000);

    expect(auth.token).toBe('access-3');
    expect(server.refreshCount).toBe(1);
    expect(server.connections).toHaveLength(1);
  });

  it('When a frame is not JSON or not in the contract, then it is reported and the socket stays usable', async () => {
    const conn = await connect();
    const invalid: string[] = [];
    rt!.on('invalid_frame', (f) => invalid.push(f.data));

    conn.send('not json');
    conn.send({ type: 'bogus' });
    conn.send(messageFrame(message('c9', 1)));
    await waitFor(() => delivered.length === 1, 5000, 'the valid message');

    expect(invalid).toEqual(['not json', '{"type":"bogus"}']);
    expect(rt!.isReady).toBe(true);
  });

  it('When no pong answers the heartbeat, then the dead socket is dropped and a new one opened', async () => {
    await connect({ heartbeatIntervalMs: 30, heartbeatTimeoutMs: 50 });

    await reconnected();

    expect(disconnects[0]).toMatchObject({ reason: 'no pong', willReconnect: true });
  });

  it('When close() is called, then pending sends are rejected, it does not reconnect, and a second close is harmless', async () => {
    const conn = await connect();
    const sent = rt!.send({ conversationId: 'c1', text: 'bye' });
    await conn.next('send');

    rt!.close();
    rt!.close();

    await expect(sent).rejects.toMatchObject({ code: 'closed' });
    await conn.closed;
    expect(disconnects).toEqual([{ code: 1000, reason: 'client closed', willReconnect: false }]);
    await expect(rt!.send({ conversationId: 'c1', text: 'late' })).rejects.toMatchObject({
      code: 'closed',
    });
  });

  it('When the refresh token is refused after a 4001, then it stops for good and rejects pending sends', async () => {
    const conn = await connect();
    const sent = rt!.send({ conversationId: 'c1', text: 'hi' });
    await conn.next('send');
    server.revokeRefreshToken();

    conn.socket.close(4001, 'token expired');

    await expect(sent).rejects.toMatchObject({ code: 'closed' });
    await waitFor(() => disconnects.some((d) => !d.willReconnect), 5000, 'a final disconnect');
    expect(disconnects.at(-1)).toMatchObject({ willReconnect: false, error: { status: 401 } });
    expect(client.session).toBeNull();
  });

  it('When this device logged out everywhere and the server then closes with 4001, then it stops for good instead of retrying', async () => {
    const conn = await connect();
    client.setSession(null); // what logoutAll() leaves behind

    conn.socket.close(4001, 'session revoked');

    await waitFor(() => disconnects.some((d) => !d.willReconnect), 10_000, 'a final disconnect');
    expect(disconnects.at(-1)).toMatchObject({ willReconnect: false });
  });
});

describe('RealtimeConnection ping', () => {
  it('When the server answers pong, then ping resolves with the round trip', async () => {
    const server = await new FakeParley().start();
    server.onConnection = (conn) => {
      conn.ready();
      conn.socket.on('message', (data) => {
        const frame = JSON.parse(String(data)) as { type: string };
        if (frame.type === 'resume') conn.send({ type: 'resumed', complete: true });
        if (frame.type === 'ping') conn.send({ type: 'pong' });
      });
    };
    const client = new ParleyClient({
      authUrl: server.url,
      chatUrl: server.url,
      websocketUrl: server.url,
    });
    await client.login({ username: 'alice', password: 'pw' });
    const rt = await client.connect(FAST_REALTIME);
    try {
      await expect(rt.ping()).resolves.toBeGreaterThanOrEqual(0);
    } finally {
      rt.close();
      await server.stop();
    }
  });
});
