// The client frames that go through chat (services/websocket/test/client-frames.test.ts
// proves them against a chat stand-in), here against the real auth, chat and websocket
// processes: end to end through chat's store, outbox and events. Bare sockets, so the
// exact frames each device gets are visible.
import request from 'supertest';
import { createUsers, openRawSocket, tokenOf, useStack, type TestUser } from '@parley/testing';

const e2e = useStack({ name: 'frames' });

async function twoUsers(): Promise<[TestUser, TestUser]> {
  return (await createUsers(e2e.stack, ['alice', 'bob'])) as [TestUser, TestUser];
}

const connect = (user: TestUser) =>
  openRawSocket(e2e.stack.websocketUrls[0] as string, tokenOf(user));

test('When alice sends over WS to bob via real chat, then her phone gets the ack only, her laptop and bob get the message', async () => {
  const [alice, bob] = await twoUsers();
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

test('When chat answers 403 not_a_member, then the error frame carries that code and the ref', async () => {
  const [alice, bob, carol] = (await createUsers(e2e.stack, ['alice', 'bob', 'carol'])) as [
    TestUser,
    TestUser,
    TestUser,
  ];
  const sent = await request(e2e.stack.chatUrl)
    .post('/chat/send')
    .set('authorization', `Bearer ${tokenOf(alice)}`)
    .send({ to: bob.username, text: 'private' })
    .expect(201);
  const conversationId = (sent.body as { message: { conversationId: string } }).message
    .conversationId;
  const client = await connect(carol);
  client.sendJson({ type: 'send', ref: 'sneaky', conversationId, text: 'let me in' });
  expect(await client.next('error')).toMatchObject({ code: 'not_a_member', ref: 'sneaky' });
  await client.close();
});

test('When bob was offline while alice wrote over REST, then resume replays exactly the missed messages', async () => {
  const [alice, bob] = await twoUsers();
  const texts = ['one', 'two', 'three', 'four', 'five'];
  let conversationId = '';
  for (const text of texts) {
    const res = await request(e2e.stack.chatUrl)
      .post('/chat/send')
      .set('authorization', `Bearer ${tokenOf(alice)}`)
      .send({ to: bob.username, text })
      .expect(201);
    conversationId = (res.body as { message: { conversationId: string } }).message.conversationId;
  }
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
  await client.close();
});

test('When alice types and reads over WS, then bob gets typing and read from real chat', async () => {
  const [alice, bob] = await twoUsers();
  const res = await request(e2e.stack.chatUrl)
    .post('/chat/send')
    .set('authorization', `Bearer ${tokenOf(bob)}`)
    .send({ to: alice.username, text: 'ping' })
    .expect(201);
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
