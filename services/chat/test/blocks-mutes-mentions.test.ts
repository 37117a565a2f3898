// docs/design.md §10: blocking (direct sends refused whether or not a conversation
// exists, presence unknown to the blocked, their typing never reaching the blocker,
// rooms unaffected), muting (mutedUntil in the list) and mentions (parsed at send and
// edit, known members only, not in code spans or e-mail addresses; mentionCount,
// GET /chat/mentions, the events carrying them).
import {
  blocksResponseSchema,
  conversationsResponseSchema,
  mentionsResponseSchema,
} from '@parley/contracts';
import request from 'supertest';
import { parseMentions } from '../src/messages/mentions';
import { waitFor } from '@parley/testing';
import { bearer, useChatHarness, type TestUser } from './support/chat-harness';

const h = useChatHarness();
const api = () => request(h.app.url);

async function direct(from: TestUser, to: TestUser, text: string) {
  return api().post('/chat/send').set(bearer(from)).send({ to: to.username, text });
}

async function roomOf(owner: TestUser, members: TestUser[]): Promise<string> {
  const res = await api()
    .post('/chat/rooms')
    .set(bearer(owner))
    .send({ name: 'r', members: members.map((m) => m.username) })
    .expect(201);
  return res.body.conversation.id as string;
}

async function summaryOf(user: TestUser, conversationId: string) {
  const res = await api().get('/chat/conversations').set(bearer(user)).expect(200);
  const found = conversationsResponseSchema
    .parse(res.body)
    .conversations.find((c) => c.id === conversationId);
  if (!found) throw new Error(`${conversationId} is not in the list`);
  return found;
}

describe('blocking', () => {
  it('When I block someone, then their direct sends are 403 blocked whether or not we had a conversation, and mine to them still go', async () => {
    const [me, pest, stranger] = [h.newUser('me'), h.newUser('pest'), h.newUser('stranger')];
    const before = await direct(pest, me, 'hi');
    expect(before.status).toBe(201);
    const conversationId = before.body.message.conversationId as string;

    await api().post('/chat/blocks').set(bearer(me)).send({ username: pest.username }).expect(204);
    await api()
      .post('/chat/blocks')
      .set(bearer(me))
      .send({ username: stranger.username })
      .expect(204);

    const refused = await Promise.all([
      direct(pest, me, 'again'),
      api().post('/chat/send').set(bearer(pest)).send({ conversationId, text: 'by id' }),
      direct(stranger, me, 'first ever'),
    ]);
    expect(refused.map((r) => [r.status, r.body.code])).toEqual([
      [403, 'blocked'],
      [403, 'blocked'],
      [403, 'blocked'],
    ]);
    expect(refused.map((r) => r.body.detail)).toEqual(Array(3).fill(refused[0]!.body.detail));
    expect(
      await h.db.collection('conversations').countDocuments({
        _id: { $regex: stranger.id } as never,
      }),
    ).toBe(0);
    expect((await direct(me, pest, 'I can still write')).status).toBe(201);

    const list = blocksResponseSchema.parse(
      (await api().get('/chat/blocks').set(bearer(me)).expect(200)).body,
    );
    expect(list.users.map((u) => u.username).sort()).toEqual(
      [pest.username, stranger.username].sort(),
    );
    await api().delete(`/chat/blocks/${pest.username}`).set(bearer(me)).expect(204);
    expect((await direct(pest, me, 'unblocked')).status).toBe(201);
  });

  it('When I block someone through another instance, then their sends through this one are refused within the cache window, and go again after the unblock', async () => {
    const windowMs = 300;
    const [here, there] = await Promise.all([
      h.startInstance({ mongoUrl: h.mongoUrl, conversationCacheTtlMs: windowMs }),
      h.startInstance({ mongoUrl: h.mongoUrl, conversationCacheTtlMs: windowMs }),
    ]);
    const [me, pest] = [h.newUser('me'), h.newUser('pest')];
    const sendHere = (text: string) =>
      request(here.url).post('/chat/send').set(bearer(pest)).send({ to: me.username, text });
    expect((await sendHere('hi')).status).toBe(201);

    await request(there.url)
      .post('/chat/blocks')
      .set(bearer(me))
      .send({ username: pest.username })
      .expect(204);
    const blockedAt = Date.now();
    await waitFor(async () => (await sendHere('still?')).status === 403, {
      timeoutMs: 5_000,
      intervalMs: 50,
      description: 'the block seen by the other instance',
    });
    // one window, plus the time of a send on a loaded machine
    expect(Date.now() - blockedAt).toBeLessThan(windowMs + 1_500);
    expect((await sendHere('again')).body.code).toBe('blocked');

    await request(there.url).delete(`/chat/blocks/${pest.username}`).set(bearer(me)).expect(204);
    await waitFor(async () => (await sendHere('after the unblock')).status === 201, {
      timeoutMs: 5_000,
      intervalMs: 50,
      description: 'the unblock seen by the other instance',
    });
  });

  it('When the input is wrong, then blocking myself is 400, an unknown user 404 user_not_found, an unknown field 400, and nothing is stored', async () => {
    const me = h.newUser('me');
    const answers = await Promise.all([
      api().post('/chat/blocks').set(bearer(me)).send({ username: me.username.toUpperCase() }),
      api().post('/chat/blocks').set(bearer(me)).send({ username: 'nobody-at-all' }),
      api().delete('/chat/blocks/nobody-at-all').set(bearer(me)),
      api().post('/chat/blocks').set(bearer(me)).send({ username: 'someone', forever: true }),
    ]);
    expect(answers.map((r) => [r.status, r.body.code])).toEqual([
      [400, 'validation_failed'],
      [404, 'user_not_found'],
      [404, 'user_not_found'],
      [400, 'validation_failed'],
    ]);
    expect(await h.db.collection('blocks').countDocuments({ blockerId: me.id })).toBe(0);
  });

  it('When I block a room member, then rooms are unaffected but their typing no longer reaches me, and they are told my presence is unknown', async () => {
    const [me, pest, other] = [h.newUser('me'), h.newUser('pest'), h.newUser('other')];
    const roomId = await roomOf(me, [pest, other]);
    await api().post('/chat/blocks').set(bearer(me)).send({ username: pest.username }).expect(204);

    const sent = await api()
      .post('/chat/send')
      .set(bearer(pest))
      .send({ conversationId: roomId, text: 'rooms are unaffected' });
    expect(sent.status).toBe(201);
    await api()
      .post('/chat/typing')
      .set(bearer(pest))
      .send({ conversationId: roomId, isTyping: true })
      .expect(204);
    const typing = await h.events.waitFor(
      'typing',
      (e) => e.data.conversationId === roomId && e.data.user.id === pest.id,
    );
    expect(typing.recipients).toEqual([other.id]);

    const contacts = await api()
      .post('/chat/contacts')
      .set(bearer(pest))
      .send({ userIds: [me.id, other.id] })
      .expect(200);
    expect(contacts.body.userIds).toEqual([other.id]);
    const mine = await api()
      .post('/chat/contacts')
      .set(bearer(me))
      .send({ userIds: [pest.id] })
      .expect(200);
    expect(mine.body.userIds).toEqual([pest.id]);
  });
});

describe('muting', () => {
  it('When I mute a conversation until a time or for good, then the list shows it, counts go on, and unmuting clears it', async () => {
    const [me, bob] = [h.newUser('me'), h.newUser('bob')];
    const roomId = await roomOf(bob, [me]);
    const until = new Date(Date.now() + 3_600_000).toISOString();

    await api()
      .post(`/chat/conversations/${roomId}/mute`)
      .set(bearer(me))
      .send({ until })
      .expect(204);
    await api()
      .post('/chat/send')
      .set(bearer(bob))
      .send({ conversationId: roomId, text: `still counted @${me.username}` })
      .expect(201);
    expect(await summaryOf(me, roomId)).toMatchObject({
      muted: true,
      mutedUntil: until,
      unreadCount: 1,
      mentionCount: 1,
    });

    await api().post(`/chat/conversations/${roomId}/mute`).set(bearer(me)).send({}).expect(204);
    const forGood = await summaryOf(me, roomId);
    expect(forGood.muted).toBe(true);
    expect(forGood).not.toHaveProperty('mutedUntil');

    await api().delete(`/chat/conversations/${roomId}/mute`).set(bearer(me)).expect(204);
    expect(await summaryOf(me, roomId)).toMatchObject({ muted: false });
    expect((await summaryOf(bob, roomId)).muted).toBe(false);
  });

  it('When the mute is wrong, then a past time or an unknown field is 400, an outsider gets 404, and nothing is stored', async () => {
    const [me, bob, eve] = [h.newUser('me'), h.newUser('bob'), h.newUser('eve')];
    const conversationId = (await direct(me, bob, 'hi')).body.message.conversationId as string;
    const answers = await Promise.all([
      api()
        .post(`/chat/conversations/${conversationId}/mute`)
        .set(bearer(me))
        .send({ until: '2000-01-01T00:00:00Z' }),
      api().post(`/chat/conversations/${conversationId}/mute`).set(bearer(me)).send({ hours: 1 }),
      api().post(`/chat/conversations/${conversationId}/mute`).set(bearer(eve)).send({}),
    ]);
    expect(answers.map((r) => [r.status, r.body.code])).toEqual([
      [400, 'validation_failed'],
      [400, 'validation_failed'],
      [404, 'conversation_not_found'],
    ]);
    expect(await h.db.collection('conversation_mutes').countDocuments({ conversationId })).toBe(0);
  });
});

describe('mentions', () => {
  const members = [
    { id: '1', username: 'bob' },
    { id: '2', username: 'ann.lee' },
  ];

  it.each([
    ['hi @bob', ['bob']],
    ['@BOB and @ann.lee.', ['bob', 'ann.lee']],
    ['mail bob@example.com or me@bob', []],
    ['`@bob` in code and ```\n@ann.lee\n``` fenced', []],
    ['@bob @bob @bobby @nobody', ['bob']],
    ['(@bob), @ann.lee!', ['bob', 'ann.lee']],
  ])('When the text is %j, then it mentions %j', (text, expected) => {
    expect(parseMentions(text, members).map((m) => m.username)).toEqual(expected);
  });

  it('When a message names members, then it carries their mentions (event too), the list counts unread ones, and GET /chat/mentions pages them newest first', async () => {
    const [me, bob, outsider] = [h.newUser('me'), h.newUser('bob'), h.newUser('outsider')];
    const roomId = await roomOf(bob, [me]);

    const first = await api()
      .post('/chat/send')
      .set(bearer(bob))
      .send({ conversationId: roomId, text: `@${me.username} look, and @${outsider.username}` });
    expect(first.body.message.mentions).toEqual([{ id: me.id, username: me.username }]);
    const event = await h.events.waitFor(
      'new_message',
      (e) => e.data.message.id === first.body.message.id,
    );
    expect(event.data.message.mentions).toEqual([{ id: me.id, username: me.username }]);
    const plain = await api()
      .post('/chat/send')
      .set(bearer(bob))
      .send({ conversationId: roomId, text: 'no mention' });
    expect(plain.body.message).not.toHaveProperty('mentions');
    const second = await api()
      .post('/chat/send')
      .set(bearer(bob))
      .send({ conversationId: roomId, text: `again @${me.username}` });

    expect(await summaryOf(me, roomId)).toMatchObject({ unreadCount: 3, mentionCount: 2 });
    const page1 = mentionsResponseSchema.parse(
      (await api().get('/chat/mentions?limit=1').set(bearer(me)).expect(200)).body,
    );
    expect(page1.messages.map((m) => m.id)).toEqual([second.body.message.id]);
    expect(page1.hasMore).toBe(true);
    const page2 = mentionsResponseSchema.parse(
      (
        await api()
          .get(`/chat/mentions?limit=1&before=${page1.messages[0]!.id}`)
          .set(bearer(me))
          .expect(200)
      ).body,
    );
    expect(page2.messages.map((m) => m.id)).toEqual([first.body.message.id]);

    await api()
      .post(`/chat/conversations/${roomId}/read`)
      .set(bearer(me))
      .send({ seq: 2 })
      .expect(204);
    expect(await summaryOf(me, roomId)).toMatchObject({ unreadCount: 1, mentionCount: 1 });
    const bad = await api().get('/chat/mentions?before=nope').set(bearer(me));
    expect([bad.status, bad.body.code]).toEqual([400, 'validation_failed']);
  });

  it('When an edit adds or drops a mention, then the message and its message_updated event say so', async () => {
    const [me, bob] = [h.newUser('me'), h.newUser('bob')];
    const sent = await direct(bob, me, 'hello');
    const id = sent.body.message.id as string;

    const edited = await api()
      .patch(`/chat/messages/${id}`)
      .set(bearer(bob))
      .send({ text: `hello @${me.username}` })
      .expect(200);
    expect(edited.body.message.mentions).toEqual([{ id: me.id, username: me.username }]);
    const event = await h.events.waitFor(
      'message_updated',
      (e) => e.data.message.id === id && e.data.message.mentions !== undefined,
    );
    expect(event.data.message.mentions).toEqual([{ id: me.id, username: me.username }]);
    expect(
      (await api().get('/chat/mentions').set(bearer(me))).body.messages.map(
        (m: { id: string }) => m.id,
      ),
    ).toEqual([id]);

    await api().patch(`/chat/messages/${id}`).set(bearer(bob)).send({ text: 'hello' }).expect(200);
    expect((await api().get('/chat/mentions').set(bearer(me))).body.messages).toEqual([]);
  });
});
