// Which conversations the realtime connection tracks, and from which seq: the list
// loaded at every (re)connect, `conversation_updated` frames and messages of
// conversations it did not know. Before the first list has loaded a conversation
// starts where it is; after that it is new to the session and starts at 0, so a room
// whose first messages were sent while the socket was down is delivered from seq 1.
import type { Message } from '@parley/contracts';
import type { ParleyClient } from '../src';
import { type MessageDelivery, type RealtimeConnection, type RealtimeOptions } from '../src';
import {
  FAST_REALTIME,
  FakeParley,
  loggedInClient,
  message,
  messageFrame,
  startAnswered,
  summary,
  waitFor,
  type ServerConnection,
} from './support/fake-parley';

describe('RealtimeConnection: which conversations it tracks', () => {
  let server: FakeParley;
  let client: ParleyClient;
  let rt: RealtimeConnection | undefined;
  let delivered: MessageDelivery[];
  let syncErrors: unknown[];

  /** Rooms here are named after their ids. */
  const roomFrame = (m: Message) => messageFrame(m, m.conversationId);

  const seqsOf = (conversationId: string) =>
    delivered.filter((d) => d.message.conversationId === conversationId).map((d) => d.message.seq);
  const historyAfters = (conversationId: string) =>
    server.historyCalls.filter((c) => c.conversationId === conversationId).map((c) => c.after);

  /** Starts a connection and answers its resume; resolves with the server side once caught up. */
  async function connect(options: RealtimeOptions = {}): Promise<ServerConnection> {
    rt = client.realtime({ ...FAST_REALTIME, ...options });
    rt.on('message', (d) => delivered.push(d));
    rt.on('sync_error', (e) => syncErrors.push(e));
    return startAnswered(server, rt);
  }

  /** Drops the socket; resolves with the next one's resume frame, and a way to answer it. */
  async function reconnect(conn: ServerConnection) {
    const resumed = rt!.next('resumed');
    conn.socket.terminate();
    const next = await server.nextConnection();
    const resume = await next.next('resume');
    return {
      conn: next,
      resume,
      finish: async () => {
        next.send({ type: 'resumed', complete: true });
        await resumed;
      },
    };
  }

  beforeEach(async () => {
    server = await new FakeParley().start();
    client = await loggedInClient(server);
    delivered = [];
    syncErrors = [];
    rt = undefined;
  });
  afterEach(async () => {
    rt?.close();
    await server.stop();
  });

  it('When a new room gets its first messages while the socket is down, then after reconnecting they are delivered from seq 1, in order, once', async () => {
    const conn1 = await connect({ seed: { c1: 3 } });
    expect(server.conversationCalls).toEqual([{ limit: 100, before: undefined }]);

    // Down: bob creates r-new with alice in it and writes twice; alice's socket misses
    // the conversation_updated and both messages.
    const drop = reconnect(conn1);
    server.addMessages('r-new', 1, 2);
    server.conversationList = [summary('r-new', 2), summary('c1', 3)];
    const { conn: conn2, resume, finish } = await drop;

    // The resume can only name what it knew; the list finds the room and history fills it.
    expect(resume.conversations).toEqual({ c1: 3 });
    conn2.send(roomFrame(message('r-new', 2))); // a late live copy while catching up
    await finish();
    expect(seqsOf('r-new')).toEqual([1, 2]);
    expect(delivered.map((d) => d.source)).toEqual(['history', 'history']);
    expect(delivered[0]?.conversation).toEqual({ id: 'r-new', kind: 'room', name: 'r-new' });
    expect(historyAfters('r-new')).toEqual([0]);
    expect(historyAfters('c1')).toEqual([]); // the resume covered it

    conn2.send(roomFrame(message('r-new', 3)));
    await waitFor(() => seqsOf('r-new').includes(3), 5000, 'seq 3');
    expect(seqsOf('r-new')).toEqual([1, 2, 3]);

    // From now on every resume names it.
    const again = await reconnect(conn2);
    expect(again.resume.conversations).toEqual({ c1: 3, 'r-new': 3 });
    await again.finish();
  });

  it('When a message with seq 3 arrives for an unknown conversation after the first sync, then 1 and 2 are fetched and delivered first, in order', async () => {
    const conn = await connect();
    server.addMessages('d-new', 1, 3);

    conn.send(roomFrame(message('d-new', 3)));
    await waitFor(() => seqsOf('d-new').length === 3, 5000, 'seqs 1–3');
    conn.send(roomFrame(message('d-new', 2))); // late copies change nothing
    conn.send(roomFrame(message('d-new', 4)));
    await waitFor(() => seqsOf('d-new').includes(4), 5000, 'seq 4');

    expect(seqsOf('d-new')).toEqual([1, 2, 3, 4]);
    // 3 waited for the gap and was released with the page that filled it
    expect(delivered.map((d) => d.source)).toEqual(['history', 'history', 'history', 'live']);
    expect(historyAfters('d-new')).toEqual([0]);
  });

  it('When our own first send to someone opens a direct conversation, then its ack is delivered as seq 1', async () => {
    const conn = await connect();

    const sent = rt!.send({ to: 'bob', text: 'hi' });
    const frame = await conn.next('send');
    const stored = message('d-bob', 1, { sender: { id: 'u-alice', username: 'alice' } });
    conn.send({ type: 'ack', ref: frame.ref, message: stored });

    await expect(sent).resolves.toEqual(stored);
    expect(seqsOf('d-bob')).toEqual([1]);
    expect(server.historyCalls).toEqual([]);
  });

  it('When conversations are present at the first sync, then they start at their lastSeq and are not back-filled, unless the app seeded them', async () => {
    server.addMessages('c-old', 1, 41);
    server.addMessages('c-seeded', 1, 10);
    server.conversationList = [summary('c-old', 40), summary('c-seeded', 10)];
    rt = client.realtime({ ...FAST_REALTIME, seed: { 'c-seeded': 8 } });
    rt.on('message', (d) => delivered.push(d));
    const started = rt.start();
    const conn = await server.nextConnection();
    const resume = await conn.next('resume');
    expect(resume.conversations).toEqual({ 'c-seeded': 8 });
    for (const m of server.store.get('c-seeded')!.slice(8)) conn.send(roomFrame(m));
    conn.send({ type: 'resumed', complete: true });
    await started;

    expect(rt.trackedConversations()).toEqual({ 'c-seeded': 10, 'c-old': 40 });
    expect(seqsOf('c-seeded')).toEqual([9, 10]);
    conn.send(roomFrame(message('c-old', 41)));
    await waitFor(() => seqsOf('c-old').length > 0, 5000, 'seq 41');
    expect(seqsOf('c-old')).toEqual([41]);
    expect(server.historyCalls).toEqual([]);
  });

  it('When a message of an unknown conversation arrives before the first list has loaded, then it starts at that message', async () => {
    let releaseList: () => void = () => undefined;
    const held = new Promise<void>((resolve) => {
      releaseList = resolve;
    });
    server.routes.set('GET /chat/conversations', async (req, res, url) => {
      await held;
      await server.listConversations(req, res, url);
    });
    server.addMessages('c-busy', 1, 7);
    rt = client.realtime(FAST_REALTIME);
    rt.on('message', (d) => delivered.push(d));
    const started = rt.start();
    const conn = await server.nextConnection();
    await conn.next('resume');
    conn.send({ type: 'resumed', complete: true });
    conn.send(roomFrame(message('c-busy', 7)));
    await waitFor(() => seqsOf('c-busy').length > 0, 5000, 'seq 7');

    server.conversationList = [summary('c-busy', 7)];
    releaseList();
    await started;

    expect(seqsOf('c-busy')).toEqual([7]);
    expect(rt.lastSeenSeq('c-busy')).toBe(7);
    expect(server.historyCalls).toEqual([]);
  });

  it('When conversation_updated adds us to a room, then it is tracked from 0: a new room from its first message, a joined one with its history', async () => {
    const conn = await connect();
    const bobOnly = { members: [{ id: 'u-bob', username: 'bob' }] };

    conn.send({ type: 'conversation_updated', conversation: summary('r-fresh', 0) });
    conn.send({ type: 'conversation_updated', conversation: summary('r-theirs', 4, bobOnly) });
    server.addMessages('r-joined', 1, 2);
    conn.send({ type: 'conversation_updated', conversation: summary('r-joined', 2) });
    await waitFor(() => seqsOf('r-joined').length === 2, 5000, 'the joined room history');
    conn.send(roomFrame(message('r-fresh', 1)));
    await waitFor(() => seqsOf('r-fresh').length === 1, 5000, 'r-fresh seq 1');

    expect(seqsOf('r-joined')).toEqual([1, 2]);
    expect(seqsOf('r-fresh')).toEqual([1]);
    expect(rt!.trackedConversations()).toEqual({ 'r-fresh': 1, 'r-joined': 2 });
    expect(historyAfters('r-fresh')).toEqual([]);
  });

  it('When the app tracks a room in its conversation_updated listener, then that starting point wins', async () => {
    const conn = await connect();
    rt!.on('conversation_updated', ({ conversation }) =>
      rt!.track(conversation.id, conversation.lastSeq),
    );
    server.addMessages('r-big', 1, 500);

    conn.send({ type: 'conversation_updated', conversation: summary('r-big', 500) });
    conn.send(roomFrame(message('r-big', 501)));
    await waitFor(() => seqsOf('r-big').length > 0, 5000, 'seq 501');

    expect(seqsOf('r-big')).toEqual([501]);
    expect(server.historyCalls).toEqual([]);
  });

  it('When the app untracked a conversation, then seeing it again starts where it is, not at 0 (nothing is delivered twice)', async () => {
    const conn = await connect();
    server.addMessages('r-left', 1, 3);
    conn.send(roomFrame(message('r-left', 1)));
    await waitFor(() => seqsOf('r-left').length === 1, 5000, 'seq 1');

    rt!.untrack('r-left');
    conn.send(roomFrame(message('r-left', 3)));
    await waitFor(() => seqsOf('r-left').length === 2, 5000, 'seq 3');

    expect(seqsOf('r-left')).toEqual([1, 3]);
    expect(server.historyCalls).toEqual([]);
  });

  it('When the list has more pages than conversationListMax, then it stops at the bound', async () => {
    server.conversationList = Array.from({ length: 300 }, (_, i) => summary(`c${i}`, 1));

    await connect({ conversationListMax: 150 });

    expect(server.conversationCalls).toEqual([
      { limit: 100, before: undefined },
      { limit: 50, before: '100' },
    ]);
    expect(Object.keys(rt!.trackedConversations())).toHaveLength(150);
  });

  it('When loading the list fails for a passing reason, then it is retried and resumed waits for it', async () => {
    let failures = 2;
    server.routes.set('GET /chat/conversations', (req, res, url) => {
      if (failures-- > 0) {
        res.writeHead(503, { 'content-type': 'application/problem+json' });
        res.end(
          JSON.stringify({
            type: 'about:blank',
            title: 'busy',
            status: 503,
            code: 'overloaded',
            detail: 'try again',
          }),
        );
        return;
      }
      server.listConversations(req, res, url);
    });
    server.conversationList = [summary('c-late', 5)];

    await connect();

    expect(syncErrors).toHaveLength(2);
    expect(syncErrors[0]).not.toHaveProperty('conversationId');
    expect(rt!.trackedConversations()).toEqual({ 'c-late': 5 });
  });

  it('When more than 100 conversations are tracked, then resume names them in frames of 100, the next after the previous one is answered, and none is paged over REST', async () => {
    const seed = Object.fromEntries(Array.from({ length: 250 }, (_, i) => [`c${i}`, i]));
    rt = client.realtime({ ...FAST_REALTIME, seed });
    const started = rt.start();
    const conn = await server.nextConnection();

    const frames = [];
    for (let i = 0; i < 3; i++) {
      const frame = await conn.next('resume');
      frames.push(frame);
      // the next frame waits for this answer
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(conn.frames.filter((f) => f.type === 'resume')).toHaveLength(i + 1);
      conn.send({
        type: 'resumed',
        complete: true,
        ...(frame.ref === undefined ? {} : { ref: frame.ref }),
        // the server says the last one named is not ours any more
        ...(i === 2 ? { notFound: ['c0'] } : {}),
      });
    }
    await started;

    expect(frames.map((f) => Object.keys(f.conversations).length)).toEqual([100, 100, 50]);
    const named = frames.flatMap((f) => Object.entries(f.conversations));
    expect(Object.fromEntries(named)).toEqual(seed);
    expect(new Set(frames.map((f) => f.ref)).size).toBe(3);
    expect(server.historyCalls).toEqual([]);
    expect(rt.trackedConversations()).not.toHaveProperty('c0');
    expect(Object.keys(rt.trackedConversations())).toHaveLength(249);
  });
});
