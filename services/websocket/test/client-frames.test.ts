// Client → server frames (docs/design.md §6) against a chat stand-in that announces its
// changes on the real exchange, as chat does.
import { RESUME_MESSAGE_BOUND, type Message } from '@parley/contracts';
import { createTestIssuer, uniqueName, waitFor, type TestIssuer } from '@parley/server-kit/testing';
import { startChatStub, type ChatStub } from './support/chat-stub';
import { ref } from './support/fixtures';
import {
  connect,
  deleteExchange,
  newUser,
  startInstance,
  type Instance,
  type TestClient,
} from './support/harness';

let issuer: TestIssuer;
let instance: Instance;
let chat: ChatStub;
const exchange = uniqueName('ws-frames');

beforeAll(async () => {
  issuer = await createTestIssuer();
  chat = await startChatStub(issuer, exchange);
  instance = await startInstance({ issuer, exchange, chatUrl: chat.url });
});

afterAll(async () => {
  await instance.stop();
  await chat.close();
  await issuer.close();
  await deleteExchange(exchange);
});

function user() {
  const u = newUser(issuer);
  chat.addUser(ref(u));
  return u;
}

async function stillOpen(client: TestClient): Promise<void> {
  client.sendJson({ type: 'ping' });
  await client.next('pong');
}

describe('ping', () => {
  test('When a client sends ping, then it gets pong', async () => {
    const client = await connect(instance.wsBase, user().token);
    client.sendJson({ type: 'ping' });
    expect(await client.next('pong')).toEqual({ type: 'pong' });
    await client.close();
  });
});

describe('send', () => {
  test('When alice sends from her phone, then the phone gets only the ack, her laptop and bob get the message', async () => {
    const alice = user();
    const bob = user();
    const phone = await connect(instance.wsBase, alice.token);
    const laptop = await connect(instance.wsBase, alice.token);
    const bobClient = await connect(instance.wsBase, bob.token);
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
    const phone = await connect(instance.wsBase, alice.token);
    const bobClient = await connect(instance.wsBase, bob.token);
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
    const outsiders = chat.createRoom('secret', [ref(user())]);
    const client = await connect(instance.wsBase, alice.token);

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
    const room = chat.createRoom('pair', [ref(alice), ref(bob)]);
    const aliceClient = await connect(instance.wsBase, alice.token);
    const bobClient = await connect(instance.wsBase, bob.token);

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
    const client = await connect(instance.wsBase, user().token);
    const room = chat.createRoom('closed', [ref(user())]);
    client.sendJson({ type: 'typing', conversationId: room.id, isTyping: true });
    expect(await client.next('error')).toMatchObject({ code: 'not_a_member' });
    await client.close();
  });
});

describe('bad frames', () => {
  test('When frames are not JSON, not a known shape or binary, then each gets an error and the socket stays open', async () => {
    const client = await connect(instance.wsBase, user().token);
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
    const client = await connect(instance.wsBase, user().token);

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
    const client = await connect(instance.wsBase, user().token);

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
    const room = chat.createRoom('resume', [ref(alice), ref(bob)]);
    const direct = chat.createRoom('other', [ref(alice), ref(bob)]);
    const seen = [1, 2, 3].map((i) => chat.storeSilently(room.id, ref(bob), `seen ${i}`));
    const missed = [4, 5, 6, 7].map((i) => chat.storeSilently(room.id, ref(bob), `missed ${i}`));
    const missedOther = [chat.storeSilently(direct.id, ref(alice), 'other 1')];
    expect(seen).toHaveLength(3);

    const client = await connect(instance.wsBase, alice.token);
    client.sendJson({ type: 'resume', conversations: { [room.id]: 3, [direct.id]: 0 } });
    expect(await client.next('resumed')).toEqual({ type: 'resumed', complete: true });
    const replayed = client.frames.filter((f) => f.type === 'message');
    expect(replayed.map((f) => f.message)).toEqual([...missed, ...missedOther]);
    expect(replayed[0]).toMatchObject({ conversation: room });
    await client.close();
  });

  test('When more than the bound was missed, then exactly the bound is sent in order and resumed is not complete', async () => {
    const alice = user();
    const room = chat.createRoom('busy', [ref(alice)]);
    const stored: Message[] = [];
    for (let i = 0; i < RESUME_MESSAGE_BOUND + 20; i++)
      stored.push(chat.storeSilently(room.id, ref(alice), `m${i}`));
    const client = await connect(instance.wsBase, alice.token);
    client.sendJson({ type: 'resume', conversations: { [room.id]: 0 } });
    expect(await client.next('resumed', undefined, 20_000)).toEqual({
      type: 'resumed',
      complete: false,
    });
    const seqs = client.frames.flatMap((f) => (f.type === 'message' ? [f.message.seq] : []));
    expect(seqs).toEqual(stored.slice(0, RESUME_MESSAGE_BOUND).map((m) => m.seq));
    await client.close();
  });

  test('When chat history pages carry no conversation label, then the kind comes from the room lookup', async () => {
    const alice = user();
    const bob = user();
    const room = chat.createRoom('labelled', [ref(alice), ref(bob)]);
    chat.storeSilently(room.id, ref(bob), 'in a room');
    const bobClient = await connect(instance.wsBase, bob.token);
    bobClient.sendJson({
      type: 'send',
      ref: uniqueName('ref'),
      to: alice.username,
      text: 'direct one',
    });
    const ack = await bobClient.next('ack');
    chat.labelHistory = false;
    try {
      const client = await connect(instance.wsBase, alice.token);
      client.sendJson({
        type: 'resume',
        conversations: { [room.id]: 0, [ack.message.conversationId]: 0 },
      });
      await client.next('resumed');
      const conversations = client.frames.flatMap((f) =>
        f.type === 'message' ? [f.conversation] : [],
      );
      expect(conversations).toEqual([room, { id: ack.message.conversationId, kind: 'direct' }]);
      await client.close();
    } finally {
      chat.labelHistory = true;
    }
    await bobClient.close();
  });

  test('When a resumed conversation cannot be read, then an error frame names it and resumed is not complete', async () => {
    const alice = user();
    const closed = chat.createRoom('nope', [ref(user())]);
    const client = await connect(instance.wsBase, alice.token);
    client.sendJson({ type: 'resume', conversations: { [closed.id]: 0 } });
    expect(await client.next('error')).toMatchObject({ code: 'not_a_member' });
    expect(await client.next('resumed')).toEqual({ type: 'resumed', complete: false });
    await client.close();
  });
});

describe('presence on one instance', () => {
  test('When a watched user connects and leaves, then the watcher gets offline at once, then online, then offline', async () => {
    const watcher = await connect(instance.wsBase, user().token);
    const watched = user();
    watcher.sendJson({ type: 'presence_subscribe', userIds: [watched.userId] });
    expect(await watcher.next('presence')).toEqual({
      type: 'presence',
      userId: watched.userId,
      status: 'offline',
    });
    const phone = await connect(instance.wsBase, watched.token);
    const laptop = await connect(instance.wsBase, watched.token);
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
    await waitFor(() => instance.app.registry.countForUser(watched.userId) === 0);
    expect(watcher.frames.filter((f) => f.type === 'presence')).toHaveLength(3);
    await watcher.close();
  });

  test('When one presence_subscribe names a user several times, then one presence frame comes for that user', async () => {
    const watcher = await connect(instance.wsBase, user().token);
    const watched = user();
    const other = user();

    watcher.sendJson({
      type: 'presence_subscribe',
      userIds: [watched.userId, watched.userId, other.userId, watched.userId],
    });
    await stillOpen(watcher);
    expect(watcher.frames.filter((f) => f.type === 'presence')).toEqual([
      { type: 'presence', userId: watched.userId, status: 'offline' },
      { type: 'presence', userId: other.userId, status: 'offline' },
    ]);
    // and one online frame when the user connects, not one per repetition
    const phone = await connect(instance.wsBase, watched.token);
    await watcher.next('presence', (f) => f.status === 'online');
    await stillOpen(watcher);
    expect(watcher.frames.filter((f) => f.type === 'presence')).toHaveLength(3);
    expect(watcher.frames.some((f) => f.type === 'error')).toBe(false);
    await Promise.all([phone.close(), watcher.close()]);
  });
});
