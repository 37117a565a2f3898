// The client frames that go through chat, against the REAL chat app in-process
// (services/chat, on FerretDB via MONGO_URL and the real RabbitMQ, through chat's own
// test harness with its auth stand-in): the same promises as client-frames.test.ts,
// end to end through chat's store, outbox and events.
import { waitFor } from '@parley/server-kit/testing';
import request from 'supertest';
import { startChatHarness, type ChatHarness } from '../../chat/test/chat-harness';
import { connect, startInstance, type Instance } from './support/harness';

let chat: ChatHarness;
let ws: Instance;

beforeAll(async () => {
  chat = await startChatHarness({ relayIntervalMs: 50 });
  ws = await startInstance({ issuer: chat.issuer, exchange: chat.exchange, chatUrl: chat.app.url });
}, 30_000);

afterAll(async () => {
  await ws?.stop();
  await chat?.close();
});

test('When alice sends over WS to bob via real chat, then her phone gets the ack only, her laptop and bob get the message', async () => {
  const alice = chat.newUser('alice');
  const bob = chat.newUser('bob');
  const phone = await connect(ws.wsBase, alice.token);
  const laptop = await connect(ws.wsBase, alice.token);
  const bobClient = await connect(ws.wsBase, bob.token);

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
  const alice = chat.newUser('alice');
  const bob = chat.newUser('bob');
  const carol = chat.newUser('carol');
  const sent = await request(chat.app.url)
    .post('/chat/send')
    .set('authorization', `Bearer ${alice.token}`)
    .send({ to: bob.username, text: 'private' })
    .expect(201);
  const conversationId = (sent.body as { message: { conversationId: string } }).message
    .conversationId;
  const client = await connect(ws.wsBase, carol.token);
  client.sendJson({ type: 'send', ref: 'sneaky', conversationId, text: 'let me in' });
  const foreign = await client.next('error');
  client.sendJson({ type: 'send', ref: 'made-up', conversationId: 'd_nobody_none', text: 'hi' });
  const unknown = await client.next('error');
  expect(foreign).toMatchObject({ code: 'conversation_not_found', ref: 'sneaky' });
  expect({ ...foreign, ref: 'x' }).toEqual({ ...unknown, ref: 'x' });
  await client.close();
});

test('When bob was offline while alice wrote over REST, then resume replays exactly the missed messages', async () => {
  const alice = chat.newUser('alice');
  const bob = chat.newUser('bob');
  const texts = ['one', 'two', 'three', 'four', 'five'];
  let conversationId = '';
  for (const text of texts) {
    const res = await request(chat.app.url)
      .post('/chat/send')
      .set('authorization', `Bearer ${alice.token}`)
      .send({ to: bob.username, text })
      .expect(201);
    conversationId = (res.body as { message: { conversationId: string } }).message.conversationId;
  }
  // the live events of those sends are out before bob connects: only the replay brings them
  await chat.events.waitFor('new_message', (e) => e.data.message.text === 'five');
  await new Promise((resolve) => setTimeout(resolve, 200));
  const client = await connect(ws.wsBase, bob.token);
  client.sendJson({ type: 'resume', conversations: { [conversationId]: 2 } });
  expect(await client.next('resumed')).toEqual({ type: 'resumed', complete: true });

  const replayed = client.frames.flatMap((f) => (f.type === 'message' ? [f] : []));
  expect(replayed.map((f) => [f.message.seq, f.message.text])).toEqual([
    [3, 'three'],
    [4, 'four'],
    [5, 'five'],
  ]);
  expect(replayed[0]?.conversation).toMatchObject({ id: conversationId, kind: 'direct' });
  await client.close();
});

test('When alice types and reads over WS, then bob gets typing and read from real chat', async () => {
  const alice = chat.newUser('alice');
  const bob = chat.newUser('bob');
  const res = await request(chat.app.url)
    .post('/chat/send')
    .set('authorization', `Bearer ${bob.token}`)
    .send({ to: alice.username, text: 'ping' })
    .expect(201);
  const conversationId = (res.body as { message: { conversationId: string } }).message
    .conversationId;
  const aliceClient = await connect(ws.wsBase, alice.token);
  const bobClient = await connect(ws.wsBase, bob.token);
  aliceClient.sendJson({ type: 'typing', conversationId, isTyping: true });
  expect(await bobClient.next('typing')).toMatchObject({
    conversationId,
    isTyping: true,
    user: { id: alice.id },
  });
  aliceClient.sendJson({ type: 'read', conversationId, seq: 1 });
  expect(await bobClient.next('read')).toEqual({
    type: 'read',
    conversationId,
    userId: alice.id,
    seq: 1,
  });
  await Promise.all([aliceClient.close(), bobClient.close()]);
});

async function post(token: string, path: string, body: object) {
  return request(chat.app.url).post(path).set('authorization', `Bearer ${token}`).send(body);
}

test('When an outsider resumes a direct conversation of others and made-up ids, then resumed lists them all in notFound, alike, and nothing of theirs is sent', async () => {
  const [alice, bob, eve] = [chat.newUser('alice'), chat.newUser('bob'), chat.newUser('eve')];
  const sent = await post(alice.token, '/chat/send', { to: bob.username, text: 'secret' });
  const theirs = (sent.body as { message: { conversationId: string } }).message.conversationId;
  const client = await connect(ws.wsBase, eve.token);

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
  const [alice, bob, mallory] = [
    chat.newUser('alice'),
    chat.newUser('bob'),
    chat.newUser('mallory'),
  ];
  const room = await post(alice.token, '/chat/rooms', {
    name: 'reactions',
    members: [bob.username, mallory.username],
  });
  const roomId = (room.body as { conversation: { id: string } }).conversation.id;
  const sent = await post(alice.token, '/chat/send', { conversationId: roomId, text: 'react!' });
  const messageId = (sent.body as { message: { id: string } }).message.id;
  const bobClient = await connect(ws.wsBase, bob.token);
  // 25 distinct emoji: shortcodes are emoji too
  const emoji = Array.from({ length: 25 }, (_, i) => `:e${i}:`);

  const answers = [];
  for (const e of emoji)
    answers.push(await post(mallory.token, `/chat/messages/${messageId}/reactions`, { emoji: e }));

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
    userId: mallory.id,
    added: true,
  });
  // no frame grows with the reactions before it
  const sizes = frames.map((f) => JSON.stringify(f).length);
  expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThan(10);
  expect(bobClient.frames.some((f) => f.type === 'message_updated')).toBe(false);
  await bobClient.close();
});

test('When a member sends 40 typing frames in a second, then the other member gets one, and the sender no error', async () => {
  const [alice, bob] = [chat.newUser('alice'), chat.newUser('bob')];
  const res = await post(bob.token, '/chat/send', { to: alice.username, text: 'hi' });
  const conversationId = (res.body as { message: { conversationId: string } }).message
    .conversationId;
  const aliceClient = await connect(ws.wsBase, alice.token);
  const bobClient = await connect(ws.wsBase, bob.token);

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
  const [alice, bob, stranger] = [chat.newUser('alice'), chat.newUser('bob'), chat.newUser('eve')];
  await post(bob.token, '/chat/send', { to: alice.username, text: 'hi' });
  const online = await connect(ws.wsBase, alice.token);
  const strangerClient = await connect(ws.wsBase, stranger.token);
  const bobClient = await connect(ws.wsBase, bob.token);

  strangerClient.sendJson({ type: 'presence_subscribe', userIds: [alice.id] });
  bobClient.sendJson({ type: 'presence_subscribe', userIds: [alice.id] });
  const rest = await request(ws.httpUrl)
    .get(`/presence?userIds=${alice.id}`)
    .set('authorization', `Bearer ${stranger.token}`);

  expect(await strangerClient.next('presence')).toEqual({
    type: 'presence',
    userId: alice.id,
    status: 'unknown',
  });
  expect(await bobClient.next('presence')).toMatchObject({ status: 'online' });
  expect(rest.status).toBe(200);
  expect(rest.body).toEqual({ presence: [{ userId: alice.id, status: 'unknown' }] });
  await Promise.all([online.close(), strangerClient.close(), bobClient.close()]);
});
