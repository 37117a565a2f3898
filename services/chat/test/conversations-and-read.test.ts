// GET /chat/conversations (order, lastMessage, unreadCount, cursor), read markers
// and typing, with their events.
import { conversationsResponseSchema } from '@parley/contracts';
import request from 'supertest';
import { bearer, useChatHarness, type TestUser } from './support/chat-harness';

const h = useChatHarness();

const api = () => request(h.app.url);

async function send(from: TestUser, body: Record<string, unknown>) {
  const res = await api().post('/chat/send').set(bearer(from)).send(body);
  expect(res.status).toBe(201);
  return res.body.message as { id: string; conversationId: string; seq: number };
}

async function conversationsOf(user: TestUser, query: Record<string, string> = {}) {
  const res = await api().get('/chat/conversations').query(query).set(bearer(user));
  expect(res.status).toBe(200);
  return conversationsResponseSchema.parse(res.body);
}

it('When a user has several conversations, then they come newest activity first with lastMessage and unread counts', async () => {
  const [me, bob, carol] = [h.newUser('me'), h.newUser('bob'), h.newUser('carol')];
  const withBob = await send(bob, { to: me.username, text: 'b1' });
  await send(bob, { conversationId: withBob.conversationId, text: 'b2' });
  const withCarol = await send(carol, { to: me.username, text: 'c1' });
  await send(me, { conversationId: withCarol.conversationId, text: 'mine' });
  const last = await send(bob, { conversationId: withBob.conversationId, text: 'b3' });
  // the order is the stored lastMessageAt, written behind the sends within
  // ACTIVITY_WRITE_DELAY_MS (docs/design.md §4.6): write it now
  await h.app.services.conversations.flushActivity();

  const { conversations, nextCursor } = await conversationsOf(me);

  expect(conversations.map((c) => c.id)).toEqual([
    withBob.conversationId,
    withCarol.conversationId,
  ]);
  expect(conversations[0]).toMatchObject({
    lastSeq: 3,
    unreadCount: 3,
    lastReadSeq: 0,
    kind: 'direct',
  });
  expect(conversations[0]?.lastMessage?.id).toBe(last.id);
  // my own messages never count as unread
  expect(conversations[1]).toMatchObject({ lastSeq: 2, unreadCount: 1 });
  expect(nextCursor).toBeUndefined();
});

it('When the list is longer than limit, then the cursor pages through every conversation once', async () => {
  const me = h.newUser('me');
  const created: string[] = [];
  for (let i = 0; i < 5; i++) {
    const other = h.newUser('other');
    created.unshift((await send(other, { to: me.username, text: `hi ${i}` })).conversationId);
  }

  const first = await conversationsOf(me, { limit: '2' });
  const second = await conversationsOf(me, { limit: '2', before: first.nextCursor ?? '' });
  const third = await conversationsOf(me, { limit: '2', before: second.nextCursor ?? '' });

  expect(
    [...first.conversations, ...second.conversations, ...third.conversations].map((c) => c.id),
  ).toEqual(created);
  expect(third.nextCursor).toBeUndefined();
  const bad = await api().get('/chat/conversations').query({ before: 'garbage!' }).set(bearer(me));
  expect([bad.status, bad.body.code]).toEqual([400, 'validation_failed']);
});

it('When a member marks read, then the marker moves forward only, unread drops, and read goes to all members', async () => {
  const [me, bob] = [h.newUser('me'), h.newUser('bob')];
  const first = await send(bob, { to: me.username, text: '1' });
  const conversationId = first.conversationId;
  await send(bob, { conversationId, text: '2' });
  await send(bob, { conversationId, text: '3' });

  const read2 = await api()
    .post(`/chat/conversations/${conversationId}/read`)
    .set(bearer(me))
    .send({ seq: 2 });
  const back = await api()
    .post(`/chat/conversations/${conversationId}/read`)
    .set(bearer(me))
    .send({ seq: 1 });

  expect([read2.status, back.status]).toEqual([204, 204]);
  const summary = (await conversationsOf(me)).conversations.find((c) => c.id === conversationId);
  expect(summary).toMatchObject({ lastReadSeq: 2, unreadCount: 1 });
  const event = await h.events.waitFor('read', (e) => e.data.conversationId === conversationId);
  expect(event.data).toEqual({ conversationId, userId: me.id, seq: 2 });
  expect(event.recipients.sort()).toEqual([me.id, bob.id].sort());
  await h.app.services.outbox.drain();
  expect(
    h.events.ofType('read').filter((e) => e.data.conversationId === conversationId),
  ).toHaveLength(1);
});

it('When the read seq is past the newest message, then it is clamped to the newest', async () => {
  const [me, bob] = [h.newUser('me'), h.newUser('bob')];
  const { conversationId } = await send(bob, { to: me.username, text: '1' });

  const res = await api()
    .post(`/chat/conversations/${conversationId}/read`)
    .set(bearer(me))
    .send({ seq: 999 });

  expect(res.status).toBe(204);
  const event = await h.events.waitFor('read', (e) => e.data.conversationId === conversationId);
  expect(event.data.seq).toBe(1);
});

it('When an outsider of a direct conversation or a bad body marks read, then 404 / 404 / 400', async () => {
  const [me, bob, eve] = [h.newUser('me'), h.newUser('bob'), h.newUser('eve')];
  const { conversationId } = await send(bob, { to: me.username, text: '1' });

  const outsider = await api()
    .post(`/chat/conversations/${conversationId}/read`)
    .set(bearer(eve))
    .send({ seq: 1 });
  const unknown = await api()
    .post('/chat/conversations/d_x_y/read')
    .set(bearer(me))
    .send({ seq: 1 });
  const bodies = await Promise.all(
    [{ seq: -1 }, { seq: 1.5 }, { seq: '1' }, { seq: { $gt: 0 } }, {}, { seq: 1, extra: true }].map(
      (body) => api().post(`/chat/conversations/${conversationId}/read`).set(bearer(me)).send(body),
    ),
  );

  expect([outsider.status, outsider.body.code]).toEqual([404, 'conversation_not_found']);
  expect([unknown.status, unknown.body.code]).toEqual([404, 'conversation_not_found']);
  expect(bodies.map((r) => r.status)).toEqual([400, 400, 400, 400, 400, 400]);
});

it('When a member types, then 204 and typing goes to the others only, and nothing is stored', async () => {
  const [me, bob, carol] = [h.newUser('me'), h.newUser('bob'), h.newUser('carol')];
  const room = await api()
    .post('/chat/rooms')
    .set(bearer(me))
    .send({ name: 'typing', members: [bob.username, carol.username] });
  const conversationId = room.body.conversation.id as string;

  const res = await api()
    .post('/chat/typing')
    .set(bearer(me))
    .send({ conversationId, isTyping: true });
  const outsider = await api()
    .post('/chat/typing')
    .set(bearer(h.newUser('eve')))
    .send({ conversationId, isTyping: true });

  expect(res.status).toBe(204);
  expect([outsider.status, outsider.body.code]).toEqual([403, 'not_a_member']);
  const event = await h.events.waitFor('typing', (e) => e.data.conversationId === conversationId);
  expect(event.data).toEqual({
    conversationId,
    user: { id: me.id, username: me.username },
    isTyping: true,
  });
  expect(event.recipients.sort()).toEqual([bob.id, carol.id].sort());
  await h.app.services.outbox.drain();
  expect(
    await h.db
      .collection('conversations')
      .countDocuments({ _id: conversationId as never, outboxDueAt: { $exists: true } }),
  ).toBe(0);
});
