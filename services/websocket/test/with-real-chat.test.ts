// The client frames that go through chat, against the REAL chat app in-process
// (services/chat, on FerretDB via MONGO_URL and the real RabbitMQ, through chat's own
// test harness with its auth stand-in): the same promises as client-frames.test.ts,
// end to end through chat's store, outbox and events.
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

test('When chat answers 403 not_a_member, then the error frame carries that code and the ref', async () => {
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
  expect(await client.next('error')).toMatchObject({ code: 'not_a_member', ref: 'sneaky' });
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
