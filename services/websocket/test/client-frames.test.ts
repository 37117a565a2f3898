// Client → server frames (docs/design.md §6) against a chat stand-in that announces its
// changes on the real exchange, as chat does.
import { RESUME_MESSAGE_BOUND, type Message } from '@parley/contracts';
import { uniqueName, waitFor } from '@parley/testing';
import { ref } from './support/fixtures';
import {
  connect,
  newUser,
  useWebsocketHarness,
  type TestClient,
} from './support/websocket-harness';

const ws = useWebsocketHarness({ name: 'ws-frames', chatStub: true });

function user() {
  const u = newUser(ws.issuer);
  ws.chat.addUser(ref(u));
  return u;
}

async function stillOpen(client: TestClient): Promise<void> {
  client.sendJson({ type: 'ping' });
  await client.next('pong');
}

describe('ping', () => {
  test('When a client sends ping, then it gets pong', async () => {
    const client = await connect(ws.instance.wsBase, user().token);
    client.sendJson({ type: 'ping' });
    expect(await client.next('pong')).toEqual({ type: 'pong' });
    await client.close();
  });
});

describe('send', () => {
  test('When alice sends from her phone, then the phone gets only the ack, her laptop and bob get the message', async () => {
    const alice = user();
    const bob = user();
    const phone = await connect(ws.instance.wsBase, alice.token);
    const laptop = await connect(ws.instance.wsBase, alice.token);
    const bobClient = await connect(ws.instance.wsBase, bob.token);
    const sentRef = uniqueName('ref');

    phone.sendJson({ type: 'send', ref: sentRef, to: bob.username, text: 'hi bob' });
    const ack = await phone.next('ack');
    expect(ack).toMatchObject({
      ref: sentRef,
      message: { text: 'hi bob', sender: ref(alice), clientMsgId: sentRef },
    });
    const onLaptop = await laptop.next('message');
    const onBob = await bobClient.next('message');
    expect(onLaptop.message.id).toBe(ack.message.id);
    expect(onBob).toEqual({
      type: 'message',
      message: ack.message,
      conversation: { id: ack.message.conversationId, kind: 'direct' },
    });

    // The phone's next frame after the ack is the pong: no echo came in between.
    await stillOpen(phone);
    expect(phone.frames.map((f) => f.type)).toEqual(['ready', 'ack', 'pong']);
    await Promise.all([phone.close(), laptop.close(), bobClient.close()]);
  });

  test('When the same ref is sent twice, then both acks carry the one stored message', async () => {
    const alice = user();
    const bob = user();
    const phone = await connect(ws.instance.wsBase, alice.token);
    const bobClient = await connect(ws.instance.wsBase, bob.token);
    const sentRef = uniqueName('ref');
    phone.sendJson({ type: 'send', ref: sentRef, to: bob.username, text: 'once' });
    const first = await phone.next('ack');
    phone.sendJson({ type: 'send', ref: sentRef, to: bob.username, text: 'once' });
    const second = await phone.next('ack');
    expect(second.message).toEqual(first.message);
    await bobClient.next('message');
    await stillOpen(bobClient);
    expect(bobClient.frames.filter((f) => f.type === 'message')).toHaveLength(1);
    await Promise.all([phone.close(), bobClient.close()]);
  });

  test('When chat refuses a send (403 not_a_member, 404 user_not_found), then the error frame carries chat code and the ref', async () => {
    const alice = user();
    const outsiders = ws.chat.createRoom('secret', [ref(user())]);
    const client = await connect(ws.instance.wsBase, alice.token);

    client.sendJson({ type: 'send', ref: 'r-1', conversationId: outsiders.id, text: 'let me in' });
    expect(await client.next('error')).toMatchObject({ code: 'not_a_member', ref: 'r-1' });
    client.sendJson({ type: 'send', ref: 'r-2', to: 'nobody-here', text: 'hello?' });
    expect(await client.next('error')).toMatchObject({ code: 'user_not_found', ref: 'r-2' });
    await stillOpen(client);
    await client.close();
  });
});

describe('typing and read', () => {
  test('When alice types and reads, then bob gets typing and both get read', async () => {
    const alice = user();
    const bob = user();
    const room = ws.chat.createRoom('pair', [ref(alice), ref(bob)]);
    const aliceClient = await connect(ws.instance.wsBase, alice.token);
    const bobClient = await connect(ws.instance.wsBase, bob.token);

    aliceClient.sendJson({ type: 'typing', conversationId: room.id, isTyping: true });
    expect(await bobClient.next('typing')).toEqual({
      type: 'typing',
      conversationId: room.id,
      user: ref(alice),
      isTyping: true,
    });
    aliceClient.sendJson({ type: 'read', conversationId: room.id, seq: 0 });
    const read = { type: 'read', conversationId: room.id, userId: alice.userId, seq: 0 };
    expect(await bobClient.next('read')).toEqual(read);
    expect(await aliceClient.next('read')).toEqual(read);
    expect(aliceClient.frames.some((f) => f.type === 'typing')).toBe(false);
    await Promise.all([aliceClient.close(), bobClient.close()]);
  });

  test('When a typing frame names a conversation the user is not in, then an error frame says not_a_member', async () => {
    const client = await connect(ws.instance.wsBase, user().token);
    const room = ws.chat.createRoom('closed', [ref(user())]);
    client.sendJson({ type: 'typing', conversationId: room.id, isTyping: true });
    expect(await client.next('error')).toMatchObject({ code: 'not_a_member' });
    await client.close();
  });
});

describe('bad frames', () => {
  test('When frames are not JSON, not a known shape or binary, then each gets an error and the socket stays open', async () => {
    const client = await connect(ws.instance.wsBase, user().token);
    client.ws.send('{nope');
    expect(await client.next('error')).toMatchObject({ code: 'malformed_frame' });
    client.sendJson({ type: 'teleport' });
    expect(await client.next('error')).toMatchObject({ code: 'validation_failed' });
    client.sendJson({ type: 'send', to: 'bob1', text: 'no ref' });
    const missingRef = await client.next('error');
    expect(missingRef).toMatchObject({ code: 'validation_failed' });
    expect(missingRef.message).toContain('ref');
    client.sendJson({ type: 'ping', extra: true });
    expect((await client.next('error')).message).toContain('extra');
    client.ws.send(Buffer.from([1, 2, 3]), { binary: true });
    expect(await client.next('error')).toMatchObject({ code: 'malformed_frame' });
    await stillOpen(client);
    await client.close();
  });
});

describe('invalid sends', () => {
  test('When a send fails validation but its ref is valid, then the validation_failed error carries that ref', async () => {
    const client = await connect(ws.instance.wsBase, user().token);

    client.sendJson({ type: 'send', ref: 'r4', to: 'bob1', text: '   ' });
    const blank = await client.next('error');
    expect(blank).toMatchObject({ type: 'error', code: 'validation_failed', ref: 'r4' });
    expect(blank.message).toContain('text');
    client.sendJson({ type: 'send', ref: 'r5', to: 'bob1', conversationId: 'c1', text: 'hi' });
    expect(await client.next('error')).toMatchObject({ code: 'validation_failed', ref: 'r5' });
    client.sendJson({ type: 'send', ref: 'r6', to: 'bob1', text: 'hi', extra: 1 });
    expect(await client.next('error')).toMatchObject({ code: 'validation_failed', ref: 'r6' });
    await stillOpen(client);
    await client.close();
  });

  test('When the ref itself is missing or invalid, or the frame is not a send, then the error has no ref', async () => {
    const client = await connect(ws.instance.wsBase, user().token);

    for (const frame of [
      { type: 'send', to: 'bob1', text: '   ' },
      { type: 'send', ref: 'has space', to: 'bob1', text: 'hi' },
      { type: 'send', ref: 'x'.repeat(129), to: 'bob1', text: 'hi' },
      { type: 'send', ref: { $gt: '' }, to: 'bob1', text: 'hi' },
      { type: 'typing', ref: 'r7', conversationId: 'c1', isTyping: 'yes' },
    ]) {
      client.sendJson(frame);
      const error = await client.next('error');
      expect(error).toMatchObject({ code: 'validation_failed' });
      expect(error).not.toHaveProperty('ref');
    }
    await stillOpen(client);
    await client.close();
  });
});

describe('resume', () => {
  test('When a client resumes after missing messages, then it gets exactly those, in seq order, then resumed complete', async () => {
    const alice = user();
    const bob = user();
    const room = ws.chat.createRoom('resume', [ref(alice), ref(bob)]);
    const direct = ws.chat.createRoom('other', [ref(alice), ref(bob)]);
    const seen = [1, 2, 3].map((i) => ws.chat.storeSilently(room.id, ref(bob), `seen ${i}`));
    const missed = [4, 5, 6, 7].map((i) => ws.chat.storeSilently(room.id, ref(bob), `missed ${i}`));
    const missedOther = [ws.chat.storeSilently(direct.id, ref(alice), 'other 1')];
    expect(seen).toHaveLength(3);

    const client = await connect(ws.instance.wsBase, alice.token);
    client.sendJson({ type: 'resume', conversations: { [room.id]: 3, [direct.id]: 0 } });
    expect(await client.next('resumed')).toEqual({ type: 'resumed', complete: true });
    const replayed = client.frames.filter((f) => f.type === 'message');
    expect(replayed.map((f) => f.message)).toEqual([...missed, ...missedOther]);
    expect(replayed[0]).toMatchObject({ conversation: room });
    await client.close();
  });

  test('When more than the bound was missed, then exactly the bound is sent in order and resumed is not complete', async () => {
    const alice = user();
    const room = ws.chat.createRoom('busy', [ref(alice)]);
    const stored: Message[] = [];
    for (let i = 0; i < RESUME_MESSAGE_BOUND + 20; i++)
      stored.push(ws.chat.storeSilently(room.id, ref(alice), `m${i}`));
    const client = await connect(ws.instance.wsBase, alice.token);
    client.sendJson({ type: 'resume', conversations: { [room.id]: 0 } });
    expect(await client.next('resumed', undefined, 20_000)).toEqual({
      type: 'resumed',
      complete: false,
    });
    const seqs = client.frames.flatMap((f) => (f.type === 'message' ? [f.message.seq] : []));
    expect(seqs).toEqual(stored.slice(0, RESUME_MESSAGE_BOUND).map((m) => m.seq));
    await client.close();
  });

  test("When a resume names conversations that are not the caller's, then resumed lists them in notFound, unknown and foreign alike, with no error frame", async () => {
    const alice = user();
    const mine = ws.chat.createRoom('mine', [ref(alice)]);
    const missed = ws.chat.storeSilently(mine.id, ref(alice), 'missed');
    const foreign = ws.chat.createRoom('theirs', [ref(user()), ref(user())]);
    ws.chat.storeSilently(foreign.id, ref(user()), 'not for alice');
    const client = await connect(ws.instance.wsBase, alice.token);

    client.sendJson({
      type: 'resume',
      ref: 'r-1',
      conversations: { [foreign.id]: 0, [mine.id]: 0, 'r:made-up': 0 },
    });

    expect(await client.next('resumed')).toEqual({
      type: 'resumed',
      complete: true,
      ref: 'r-1',
      notFound: [foreign.id, 'r:made-up'],
    });
    expect(client.frames.filter((f) => f.type === 'message')).toEqual([
      { type: 'message', message: missed, conversation: mine },
    ]);
    expect(client.frames.some((f) => f.type === 'error')).toBe(false);
    await client.close();
  });

  test('When one resume frame names 100 made-up conversations, then chat is called once and one resumed answers it', async () => {
    const alice = user();
    const client = await connect(ws.instance.wsBase, alice.token);
    const callsBefore = ws.chat.syncCalls;
    const made = Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`r:fake-${i}`, 0]));

    client.sendJson({ type: 'resume', conversations: made });

    const resumed = await client.next('resumed');
    expect(resumed.notFound).toHaveLength(100);
    expect(ws.chat.syncCalls - callsBefore).toBe(1);
    expect(client.frames.filter((f) => f.type !== 'ready' && f.type !== 'resumed')).toEqual([]);
    await client.close();
  });

  test('When a resume names more than 100 conversations, then it is refused with validation_failed and chat is not called', async () => {
    const client = await connect(ws.instance.wsBase, user().token);
    const callsBefore = ws.chat.syncCalls;
    const tooMany = Object.fromEntries(Array.from({ length: 1_000 }, (_, i) => [`r:x-${i}`, 0]));

    client.sendJson({ type: 'resume', ref: 'big', conversations: tooMany });

    expect(await client.next('error')).toMatchObject({ code: 'validation_failed' });
    await stillOpen(client);
    expect(ws.chat.syncCalls).toBe(callsBefore);
    expect(client.frames.some((f) => f.type === 'resumed')).toBe(false);
    await client.close();
  });

  test('When a second resume arrives while the first runs, then it gets error rate_limited with its ref and the first completes', async () => {
    const alice = user();
    const room = ws.chat.createRoom('slow', [ref(alice)]);
    ws.chat.storeSilently(room.id, ref(alice), 'one');
    const client = await connect(ws.instance.wsBase, alice.token);
    let release = () => undefined as void;
    ws.chat.holdSync = new Promise<void>((resolve) => {
      release = resolve;
    });
    try {
      const callsBefore = ws.chat.syncCalls;
      client.sendJson({ type: 'resume', ref: 'first', conversations: { [room.id]: 0 } });
      await waitFor(() => ws.chat.syncCalls === callsBefore + 1, { description: 'the first sync' });
      client.sendJson({ type: 'resume', ref: 'second', conversations: { [room.id]: 0 } });

      expect(await client.next('error')).toMatchObject({ code: 'rate_limited', ref: 'second' });
      release();
      expect(await client.next('resumed')).toEqual({
        type: 'resumed',
        complete: true,
        ref: 'first',
      });
      expect(ws.chat.syncCalls).toBe(callsBefore + 1);
      // and once it is done, the next resume runs
      client.sendJson({ type: 'resume', ref: 'third', conversations: { [room.id]: 1 } });
      expect(await client.next('resumed')).toEqual({
        type: 'resumed',
        complete: true,
        ref: 'third',
      });
    } finally {
      ws.chat.holdSync = undefined;
      release();
    }
    await client.close();
  });
});

/** Two users who share a conversation, so each may see the other's presence. */
function contacts(): [ReturnType<typeof user>, ReturnType<typeof user>] {
  const [a, b] = [user(), user()];
  ws.chat.createRoom('contacts', [ref(a), ref(b)]);
  return [a, b];
}

describe('presence on one instance', () => {
  test('When a watched user connects and leaves, then the watcher gets offline at once, then online, then offline', async () => {
    const [me, watched] = contacts();
    const watcher = await connect(ws.instance.wsBase, me.token);
    watcher.sendJson({ type: 'presence_subscribe', userIds: [watched.userId] });
    expect(await watcher.next('presence')).toEqual({
      type: 'presence',
      userId: watched.userId,
      status: 'offline',
    });
    const phone = await connect(ws.instance.wsBase, watched.token);
    const laptop = await connect(ws.instance.wsBase, watched.token);
    expect(await watcher.next('presence')).toEqual({
      type: 'presence',
      userId: watched.userId,
      status: 'online',
    });
    await phone.close();
    await laptop.close();
    expect(await watcher.next('presence')).toEqual({
      type: 'presence',
      userId: watched.userId,
      status: 'offline',
    });
    // exactly one transition each way: the second device changed nothing
    await waitFor(() => ws.instance.app.registry.countForUser(watched.userId) === 0);
    expect(watcher.frames.filter((f) => f.type === 'presence')).toHaveLength(3);
    await watcher.close();
  });

  test('When one presence_subscribe names a user several times, then one presence frame comes for that user', async () => {
    const [me, watched] = contacts();
    const other = user();
    ws.chat.createRoom('more contacts', [ref(me), ref(other)]);
    const watcher = await connect(ws.instance.wsBase, me.token);

    watcher.sendJson({
      type: 'presence_subscribe',
      userIds: [watched.userId, watched.userId, other.userId, watched.userId],
    });
    await waitFor(() => watcher.frames.filter((f) => f.type === 'presence').length >= 2);
    await stillOpen(watcher);
    expect(watcher.frames.filter((f) => f.type === 'presence')).toEqual([
      { type: 'presence', userId: watched.userId, status: 'offline' },
      { type: 'presence', userId: other.userId, status: 'offline' },
    ]);
    // and one online frame when the user connects, not one per repetition
    const phone = await connect(ws.instance.wsBase, watched.token);
    await watcher.next('presence', (f) => f.status === 'online');
    await stillOpen(watcher);
    expect(watcher.frames.filter((f) => f.type === 'presence')).toHaveLength(3);
    expect(watcher.frames.some((f) => f.type === 'error')).toBe(false);
    await Promise.all([phone.close(), watcher.close()]);
  });

  test('When a stranger subscribes to a user who shares no conversation with them, then the answer is unknown and never changes', async () => {
    const stranger = await connect(ws.instance.wsBase, user().token);
    const target = user();
    const contactsBefore = ws.chat.contactsCalls;

    stranger.sendJson({ type: 'presence_subscribe', userIds: [target.userId] });

    expect(await stranger.next('presence')).toEqual({
      type: 'presence',
      userId: target.userId,
      status: 'unknown',
    });
    expect(ws.chat.contactsCalls - contactsBefore).toBe(1);
    // the target comes online and goes again: the stranger hears nothing
    const phone = await connect(ws.instance.wsBase, target.token);
    await phone.close();
    await waitFor(() => ws.instance.app.registry.countForUser(target.userId) === 0);
    await stillOpen(stranger);
    expect(stranger.frames.filter((f) => f.type === 'presence')).toHaveLength(1);
    await stranger.close();
  });

  test('When two users start a conversation, then the next subscribe shows the presence that was unknown', async () => {
    const [me, later] = [user(), user()];
    const watcher = await connect(ws.instance.wsBase, me.token);
    const online = await connect(ws.instance.wsBase, later.token);
    watcher.sendJson({ type: 'presence_subscribe', userIds: [later.userId] });
    expect(await watcher.next('presence')).toMatchObject({ status: 'unknown' });

    ws.chat.createRoom('first words', [ref(me), ref(later)]);
    watcher.sendJson({ type: 'presence_subscribe', userIds: [later.userId] });

    expect(await watcher.next('presence')).toEqual({
      type: 'presence',
      userId: later.userId,
      status: 'online',
    });
    await Promise.all([online.close(), watcher.close()]);
  });

  test('When one subscribe names 500 users, then chat is asked once; a repeat of visible ones is answered from the cache', async () => {
    const [me, friend] = contacts();
    const watcher = await connect(ws.instance.wsBase, me.token);
    const strangers = Array.from({ length: 499 }, (_, i) => `stranger-${i}`);
    const contactsBefore = ws.chat.contactsCalls;

    watcher.sendJson({ type: 'presence_subscribe', userIds: [friend.userId, ...strangers] });
    await waitFor(() => watcher.frames.filter((f) => f.type === 'presence').length === 500);
    watcher.sendJson({ type: 'presence_subscribe', userIds: [friend.userId, me.userId] });
    await waitFor(() => watcher.frames.filter((f) => f.type === 'presence').length === 502);

    expect(ws.chat.contactsCalls - contactsBefore).toBe(1);
    const statuses = watcher.frames.flatMap((f) => (f.type === 'presence' ? [f.status] : []));
    expect(statuses.filter((s) => s === 'unknown')).toHaveLength(499);
    expect(statuses.at(-1)).toBe('online'); // oneself: always visible
    await watcher.close();
  });
});
