// docs/design.md §4.11, §7.2: a change answered 2xx is stored; if RabbitMQ cannot take its
// event then, the outbox relay publishes it once the broker is reachable, exactly
// once per event, and the document's outbox is emptied. New messages keep no outbox
// fields: the instance that stored them retries them, and when it stops with some
// unconfirmed another instance adopts its relay checkpoint and republishes them.
import request from 'supertest';
import { waitFor } from '@parley/testing';
import { bearer, useChatHarness, type ChatInstance } from './support/chat-harness';

// a stopped instance's checkpoint is adopted after this (the service's: 5 s)
const h = useChatHarness({ relayLeaseMs: 300, relayCheckpointIntervalMs: 100 });
let brokerless: ChatInstance;
let brokerlessId: string;

beforeAll(async () => {
  // same database and exchange, but an AMQP URL nothing listens on
  brokerless = await h.startInstance({
    amqpUrl: 'amqp://guest:guest@127.0.0.1:1',
    publishTimeoutMs: 300,
    relayCheckpointIntervalMs: 100,
  });
  brokerlessId = brokerless.services.messageRelay.instanceId;
});

function pendingDocs(): Promise<number> {
  return h.app.services.outbox.countPending();
}

it('When RabbitMQ is unreachable, then changes still succeed, and the relay publishes each event exactly once when it is back', async () => {
  const [alice, bob] = [h.newUser('alice'), h.newUser('bob')];
  const api = () => request(brokerless.url);

  const sends = [];
  for (const text of ['one', 'two', 'three']) {
    sends.push(await api().post('/chat/send').set(bearer(alice)).send({ to: bob.username, text }));
  }
  const first = sends[0]?.body.message;
  const edit = await api()
    .patch(`/chat/messages/${first.id}`)
    .set(bearer(alice))
    .send({ text: 'one!' });
  const react = await api()
    .post(`/chat/messages/${first.id}/reactions`)
    .set(bearer(bob))
    .send({ emoji: '🎉' });
  const room = await api()
    .post('/chat/rooms')
    .set(bearer(alice))
    .send({ name: 'offline room', members: [bob.username] });
  const read = await api()
    .post(`/chat/conversations/${first.conversationId}/read`)
    .set(bearer(bob))
    .send({ seq: 3 });
  const typing = await api()
    .post('/chat/typing')
    .set(bearer(alice))
    .send({ conversationId: first.conversationId, isTyping: true });

  expect(sends.map((r) => r.status)).toEqual([201, 201, 201]);
  expect([edit.status, react.status, room.status, read.status, typing.status]).toEqual([
    200, 200, 201, 204, 204,
  ]);
  // the fast path gives up (publish timeout) and leaves everything in the outbox
  await brokerless.services.outbox.drain();
  expect(await brokerless.services.outbox.relayPending()).toBe(0); // disconnected: no pass at all
  // the first message (edit, reaction), 1 room, 1 read marker; the 3 new messages are
  // the brokerless instance's open tickets, not stored events
  expect(await pendingDocs()).toBe(1 + 1 + 1);
  expect(brokerless.services.messageRelay.open).toBe(3);

  // the broker is "back": another instance's relay over the same database
  const published = await h.app.relay.runOnce();
  // edit + reaction + conversation_updated + read
  expect(published).toBe(4);
  // the brokerless instance stops with its messages unconfirmed: its checkpoint stays,
  // its heartbeat stops, and after the lease the other instance adopts its tail
  await brokerless.close();
  await waitFor(
    async () =>
      (await h.db
        .collection<{ _id: string }>('relay_checkpoints')
        .countDocuments({ _id: brokerlessId })) === 0,
    { timeoutMs: 5_000, description: "the stopped instance's checkpoint adopted" },
  );

  const messageIds = sends.map((r) => r.body.message.id as string);
  await waitFor(
    () =>
      h.events.ofType('new_message').filter((e) => messageIds.includes(e.data.message.id))
        .length === 3,
  );
  await waitFor(() =>
    h.events.ofType('read').some((e) => e.data.conversationId === first.conversationId),
  );
  expect(await pendingDocs()).toBe(0);
  expect(await h.app.relay.runOnce()).toBe(0);

  const mine = h.events.events.filter((e) => {
    const data = e.data as {
      message?: { conversationId: string };
      conversation?: { id: string };
      conversationId?: string;
    };
    return (
      data.message?.conversationId === first.conversationId ||
      data.conversationId === first.conversationId ||
      data.conversation?.id === room.body.conversation.id
    );
  });
  const counts = new Map<string, number>();
  for (const e of mine) counts.set(e.id, (counts.get(e.id) ?? 0) + 1);
  expect([...counts.values()].every((n) => n === 1)).toBe(true);
  expect(mine.map((e) => e.type).sort()).toEqual(
    [
      'conversation_updated',
      'message_updated',
      'reaction',
      'new_message',
      'new_message',
      'new_message',
      'read',
    ].sort(),
  );
  // events keep their order within a document: the edit before the reaction
  const changes = h.events.events.flatMap((e) =>
    e.type === 'message_updated' && e.data.message.id === first.id
      ? [`edit ${e.data.message.text}`]
      : e.type === 'reaction' && e.data.messageId === first.id
        ? [`reaction ${e.data.emoji}`]
        : [],
  );
  expect(changes).toEqual(['edit one!', 'reaction 🎉']);
  // typing is not stored, so it is not replayed
  expect(
    h.events.ofType('typing').filter((e) => e.data.conversationId === first.conversationId),
  ).toHaveLength(0);
});

it('When the relay runs while the fast path is still publishing, then no event is sent twice', async () => {
  const [alice, bob] = [h.newUser('alice'), h.newUser('bob')];
  const responses = await Promise.all(
    Array.from({ length: 20 }, (_, i) =>
      request(h.app.url)
        .post('/chat/send')
        .set(bearer(i % 2 ? alice : bob))
        .send(
          i === 0
            ? { to: bob.username, text: 'x' }
            : { to: i % 2 ? bob.username : alice.username, text: `m${i}` },
        ),
    ),
  );
  // grace 0 in tests: the relay sees every pending event at once, racing the fast path
  await h.app.relay.runOnce();
  await h.app.services.outbox.drain();
  await h.app.relay.runOnce();

  const ids = new Set(responses.map((r) => r.body.message.id as string));
  await waitFor(
    () => h.events.ofType('new_message').filter((e) => ids.has(e.data.message.id)).length >= 20,
  );
  const matching = h.events.ofType('new_message').filter((e) => ids.has(e.data.message.id));
  expect(matching).toHaveLength(20);
  expect(await pendingDocs()).toBe(0);
});

it('When sends and reactions to the same messages are confirmed together, then each event goes out once and every outbox is emptied', async () => {
  const [alice, bob] = [h.newUser('alice'), h.newUser('bob')];
  const sent = await Promise.all(
    Array.from({ length: 30 }, (_, i) =>
      request(h.app.url)
        .post('/chat/send')
        .set(bearer(alice))
        .send({ to: bob.username, text: `burst ${i}` })
        .expect(201),
    ),
  );
  const ids = sent.map((r) => r.body.message.id as string);
  // reactions land while the new_message marks may still be pending: documents with
  // two events, which the batched mark must not clear wholesale
  await Promise.all(
    ids
      .filter((_, i) => i % 3 === 0)
      .map((id) =>
        request(h.app.url)
          .post(`/chat/messages/${id}/reactions`)
          .set(bearer(bob))
          .send({ emoji: '👍' })
          .expect(200),
      ),
  );
  await h.app.services.outbox.drain();

  await waitFor(async () => (await pendingDocs()) === 0);
  await h.app.relay.runOnce();
  await h.app.services.outbox.drain();
  const news = h.events.ofType('new_message').filter((e) => ids.includes(e.data.message.id));
  const updates = h.events.ofType('reaction').filter((e) => ids.includes(e.data.messageId));
  expect(news).toHaveLength(30);
  expect(new Set(news.map((e) => e.id)).size).toBe(30);
  expect(updates).toHaveLength(10);
  expect(await pendingDocs()).toBe(0);
});
