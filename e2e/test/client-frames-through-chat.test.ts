// The client frames that go through chat (services/websocket/test/client-frames.test.ts
// proves them against a chat stand-in), here against the real auth, chat and websocket
// processes: end to end through chat's store, outbox and events, with their default
// limits. Bare sockets, so the exact frames each device gets are visible.
import request from 'supertest';
import {
  createUsers,
  openRawSocket,
  tokenOf,
  useStack,
  waitFor,
  type TestUser,
} from '@parley/testing';

const e2e = useStack({ name: 'frames' });

/** Registered and logged-in users, one per name prefix. */
async function users<const P extends readonly string[]>(
  ...prefixes: P
): Promise<{ [K in keyof P]: TestUser }> {
  return (await createUsers(e2e.stack, [...prefixes])) as { [K in keyof P]: TestUser };
}

const connect = (user: TestUser) =>
  openRawSocket(e2e.stack.websocketUrls[0] as string, tokenOf(user));

function post(user: TestUser, path: string, body: object) {
  return request(e2e.stack.chatUrl)
    .post(path)
    .set('authorization', `Bearer ${tokenOf(user)}`)
    .send(body);
}

// The first send of a fresh stack pays chat's cold caches (the JWKS fetch, the first
// user lookup, the first conversation); on a loaded 2-core CI machine that alone once
// passed chat's 1.5 s request deadline (503). This suite checks frames, not cold starts.
beforeAll(async () => {
  const [sender, receiver] = await users('warm', 'warmpeer');
  // retried on 503 with the same clientMsgId, as a client does
  const body = { to: receiver.username, text: 'warm-up', clientMsgId: 'warm-1' };
  await waitFor(async () => (await post(sender, '/chat/send', body)).status === 201, {
    timeoutMs: 20_000,
    intervalMs: 500,
    description: 'the warm-up send',
  });
});

test('When alice sends over WS to bob via real chat, then her phone gets the ack only, her laptop and bob get the message', async () => {
  const [alice, bob] = await users('alice', 'bob');
  const phone = await connect(alice);
  const laptop = await connect(alice);
  const bobClient = await connect(bob);

  phone.sendJson({ type: 'send', ref: 'real-1', to: bob.username, text: 'hello for real' });
  const ack = await phone.next('ack');
  expect(ack.message).toMatchObject({ text: 'hello for real', clientMsgId: 'real-1', seq: 1 });
  expect((await laptop.next('message')).message.id).toBe(ack.message.id);
  const atBob = await bobClient.next('message');
  expect(atBob.message.id).toBe(ack.message.id);
  expect(atBob.conversation).toMatchObject({ id: ack.message.conversationId, kind: 'direct' });

  phone.sendJson({ type: 'send', ref: 'real-1', to: bob.username, text: 'hello for real' });
  expect((await phone.next('ack')).message.id).toBe(ack.message.id);
  phone.sendJson({ type: 'ping' });
  await phone.next('pong');
  expect(phone.frames.map((f) => f.type)).toEqual(['ready', 'ack', 'ack', 'pong']);
  await Promise.all([phone.close(), laptop.close(), bobClient.close()]);
});

test('When a send names a direct conversation of others, then the error frame says 404 conversation_not_found, as for an unknown id, with the ref', async () => {
  const [alice, bob, carol] = await users('alice', 'bob', 'carol');
  const sent = await post(alice, '/chat/send', { to: bob.username, text: 'private' }).expect(201);
  const conversationId = (sent.body as { message: { conversationId: string } }).message
    .conversationId;
  const client = await connect(carol);
  client.sendJson({ type: 'send', ref: 'sneaky', conversationId, text: 'let me in' });
  const foreign = await client.next('error');
  client.sendJson({ type: 'send', ref: 'made-up', conversationId: 'd_nobody_none', text: 'hi' });
  const unknown = await client.next('error');
  expect(foreign).toMatchObject({ code: 'conversation_not_found', ref: 'sneaky' });
  expect({ ...foreign, ref: 'x' }).toEqual({ ...unknown, ref: 'x' });
  await client.close();
});

test('When bob was offline while alice wrote over REST, then resume replays exactly the missed messages', async () => {
  const [alice, bob] = await users('alice', 'bob');
  // alice's own socket sees each send's live event: once it has the last one, the
  // events are out, and only the replay can bring them to bob
  const aliceClient = await connect(alice);
  const texts = ['one', 'two', 'three', 'four', 'five'];
  let conversationId = '';
  for (const text of texts) {
    const res = await post(alice, '/chat/send', { to: bob.username, text }).expect(201);
    conversationId = (res.body as { message: { conversationId: string } }).message.conversationId;
  }
  await waitFor(
    () => aliceClient.frames.some((f) => f.type === 'message' && f.message.text === 'five'),
    { description: "the live event of alice's last send" },
  );
  await new Promise((resolve) => setTimeout(resolve, 200));
  const client = await connect(bob);
  client.sendJson({ type: 'resume', conversations: { [conversationId]: 2 } });
  expect(await client.next('resumed')).toEqual({ type: 'resumed', complete: true });

  const replayed = client.frames.flatMap((f) => (f.type === 'message' ? [f] : []));
  expect(replayed.map((f) => [f.message.seq, f.message.text])).toEqual([
    [3, 'three'],
    [4, 'four'],
    [5, 'five'],
  ]);
  expect(replayed[0]?.conversation).toMatchObject({ id: conversationId, kind: 'direct' });
  await Promise.all([aliceClient.close(), client.close()]);
});

test('When alice types and reads over WS, then bob gets typing and read from real chat', async () => {
  const [alice, bob] = await users('alice', 'bob');
  const res = await post(bob, '/chat/send', { to: alice.username, text: 'ping' }).expect(201);
  const conversationId = (res.body as { message: { conversationId: string } }).message
    .conversationId;
  const aliceClient = await connect(alice);
  const bobClient = await connect(bob);
  aliceClient.sendJson({ type: 'typing', conversationId, isTyping: true });
  expect(await bobClient.next('typing')).toMatchObject({
    conversationId,
    isTyping: true,
    user: { id: alice.user.id },
  });
  aliceClient.sendJson({ type: 'read', conversationId, seq: 1 });
  expect(await bobClient.next('read')).toEqual({
    type: 'read',
    conversationId,
    userId: alice.user.id,
    seq: 1,
  });
  await Promise.all([aliceClient.close(), bobClient.close()]);
});

test('When an outsider resumes a direct conversation of others and made-up ids, then resumed lists them all in notFound, alike, and nothing of theirs is sent', async () => {
  const [alice, bob, eve] = await users('alice', 'bob', 'eve');
  const sent = await post(alice, '/chat/send', { to: bob.username, text: 'secret' });
  const theirs = (sent.body as { message: { conversationId: string } }).message.conversationId;
  const client = await connect(eve);

  client.sendJson({
    type: 'resume',
    ref: 'probe',
    conversations: { [theirs]: 0, d_made_up: 0, '0123456789abcdef01234567': 0 },
  });

  expect(await client.next('resumed')).toEqual({
    type: 'resumed',
    complete: true,
    ref: 'probe',
    notFound: [theirs, 'd_made_up', '0123456789abcdef01234567'],
  });
  expect(client.frames.map((f) => f.type)).toEqual(['ready', 'resumed']);
  await client.close();
});

test('When someone reacts many times to one room message, then the caps answer 409 and every member gets one small reaction frame per change', async () => {
  const [alice, bob, mallory] = await users('alice', 'bob', 'mallory');
  const room = await post(alice, '/chat/rooms', {
    name: 'reactions',
    members: [bob.username, mallory.username],
  });
  const roomId = (room.body as { conversation: { id: string } }).conversation.id;
  const sent = await post(alice, '/chat/send', { conversationId: roomId, text: 'react!' });
  const messageId = (sent.body as { message: { id: string } }).message.id;
  const bobClient = await connect(bob);
  // 25 distinct emoji: shortcodes are emoji too
  const emoji = Array.from({ length: 25 }, (_, i) => `:e${i}:`);

  const answers = [];
  for (const e of emoji)
    answers.push(await post(mallory, `/chat/messages/${messageId}/reactions`, { emoji: e }));

  expect(answers.slice(0, 20).map((r) => r.status)).toEqual(Array(20).fill(200));
  expect(answers.slice(20).map((r) => [r.status, (r.body as { code: string }).code])).toEqual(
    Array(5).fill([409, 'too_many_reactions']),
  );
  await waitFor(() => bobClient.frames.filter((f) => f.type === 'reaction').length === 20);
  const frames = bobClient.frames.filter((f) => f.type === 'reaction');
  expect(frames[19]).toEqual({
    type: 'reaction',
    messageId,
    conversationId: roomId,
    emoji: ':e19:',
    userId: mallory.user.id,
    added: true,
  });
  // no frame grows with the reactions before it
  const sizes = frames.map((f) => JSON.stringify(f).length);
  expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThan(10);
  expect(bobClient.frames.some((f) => f.type === 'message_updated')).toBe(false);
  await bobClient.close();
});

test('When a member sends 40 typing frames in a second, then the other member gets one, and the sender no error', async () => {
  const [alice, bob] = await users('alice', 'bob');
  const res = await post(bob, '/chat/send', { to: alice.username, text: 'hi' });
  const conversationId = (res.body as { message: { conversationId: string } }).message
    .conversationId;
  const aliceClient = await connect(alice);
  const bobClient = await connect(bob);

  for (let i = 0; i < 40; i++) {
    aliceClient.sendJson({ type: 'typing', conversationId, isTyping: i % 2 === 0 });
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  await bobClient.next('typing');
  aliceClient.sendJson({ type: 'ping' });
  await aliceClient.next('pong');
  await new Promise((resolve) => setTimeout(resolve, 300));

  expect(bobClient.frames.filter((f) => f.type === 'typing')).toHaveLength(1);
  expect(aliceClient.frames.some((f) => f.type === 'error')).toBe(false);
  await Promise.all([aliceClient.close(), bobClient.close()]);
});

test('When a stranger asks for the presence of a user they share nothing with, then it is unknown over WS and REST; a contact sees online', async () => {
  const [alice, bob, stranger] = await users('alice', 'bob', 'eve');
  await post(bob, '/chat/send', { to: alice.username, text: 'hi' });
  const online = await connect(alice);
  const strangerClient = await connect(stranger);
  const bobClient = await connect(bob);

  strangerClient.sendJson({ type: 'presence_subscribe', userIds: [alice.user.id] });
  bobClient.sendJson({ type: 'presence_subscribe', userIds: [alice.user.id] });
  const rest = await request(e2e.stack.websocketUrls[0] as string)
    .get(`/presence?userIds=${alice.user.id}`)
    .set('authorization', `Bearer ${tokenOf(stranger)}`);

  expect(await strangerClient.next('presence')).toEqual({
    type: 'presence',
    userId: alice.user.id,
    status: 'unknown',
  });
  expect(await bobClient.next('presence')).toMatchObject({ status: 'online' });
  expect(rest.status).toBe(200);
  expect(rest.body).toEqual({ presence: [{ userId: alice.user.id, status: 'unknown' }] });
  await Promise.all([online.close(), strangerClient.close(), bobClient.close()]);
});
