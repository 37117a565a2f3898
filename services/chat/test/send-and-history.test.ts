// /chat/send and /chat/history against real MongoDB and RabbitMQ: direct
// conversations, idempotency, threads, paging, and the new_message events.
import {
  historyResponseSchema,
  messageResponseSchema,
  newMessageEventSchema,
} from '@parley/contracts';
import request from 'supertest';
import { directConversationId } from '../src/conversations/conversation-store';
import { bearer, useChatHarness, type TestUser } from './support/chat-harness';

const h = useChatHarness();

async function send(from: TestUser, body: Record<string, unknown>) {
  return request(h.app.url).post('/chat/send').set(bearer(from)).send(body);
}

describe('POST /chat/send', () => {
  it('When a user writes to another by username, then it is stored with seq 1 and new_message goes to both', async () => {
    const alice = h.newUser('alice');
    const bob = h.newUser('bob');

    const res = await send(alice, { to: bob.username, text: 'hello bob' });

    expect(res.status).toBe(201);
    const { message } = messageResponseSchema.parse(res.body);
    expect(message).toMatchObject({
      conversationId: directConversationId(alice.id, bob.id),
      seq: 1,
      sender: { id: alice.id, username: alice.username },
      text: 'hello bob',
      reactions: {},
    });
    const event = await h.events.waitFor('new_message', (e) => e.data.message.id === message.id);
    expect(newMessageEventSchema.parse(event).data).toEqual({
      message,
      conversation: { id: message.conversationId, kind: 'direct' },
    });
    expect(event.recipients.sort()).toEqual([alice.id, bob.id].sort());
  });

  it('When both users write first at the same time, then there is one conversation with seqs 1 and 2', async () => {
    const alice = h.newUser('alice');
    const bob = h.newUser('bob');

    const [a, b] = await Promise.all([
      send(alice, { to: bob.username, text: 'hi from alice' }),
      send(bob, { to: alice.username, text: 'hi from bob' }),
    ]);

    expect([a.status, b.status]).toEqual([201, 201]);
    expect(a.body.message.conversationId).toBe(b.body.message.conversationId);
    expect([a.body.message.seq, b.body.message.seq].sort()).toEqual([1, 2]);
    const conv = await h.db
      .collection('conversations')
      .findOne({ _id: a.body.message.conversationId });
    expect(conv?.memberIds).toHaveLength(2);
  });

  it('When a clientMsgId is repeated, then the answer is 200 with the original and no second event', async () => {
    const alice = h.newUser('alice');
    const bob = h.newUser('bob');
    const first = await send(alice, { to: bob.username, text: 'once', clientMsgId: 'ref-1' });

    const again = await send(alice, { to: bob.username, text: 'once', clientMsgId: 'ref-1' });
    const concurrent = await Promise.all(
      [1, 2, 3].map(() => send(alice, { to: bob.username, text: 'once', clientMsgId: 'ref-2' })),
    );

    expect(first.status).toBe(201);
    expect(again.status).toBe(200);
    expect(again.body.message).toEqual(first.body.message);
    expect(first.body.message.clientMsgId).toBe('ref-1');
    expect(concurrent.map((r) => r.status).sort()).toEqual([200, 200, 201]);
    expect(new Set(concurrent.map((r) => r.body.message.id)).size).toBe(1);
    await h.events.waitFor(
      'new_message',
      (e) => e.data.message.id === concurrent[0]?.body.message.id,
    );
    const history = await request(h.app.url)
      .get('/chat/history')
      .query({ conversationId: first.body.message.conversationId })
      .set(bearer(alice));
    expect(history.body.messages.map((m: { seq: number }) => m.seq)).toEqual([1, 2]);
    await h.app.services.outbox.drain();
    const ids = new Set([first.body.message.id, concurrent[0]?.body.message.id]);
    expect(h.events.ofType('new_message').filter((e) => ids.has(e.data.message.id))).toHaveLength(
      2,
    );
  });

  it('When the same clientMsgId is used by two different senders, then both messages are stored', async () => {
    const alice = h.newUser('alice');
    const bob = h.newUser('bob');

    const a = await send(alice, { to: bob.username, text: 'a', clientMsgId: 'same' });
    const b = await send(bob, { to: alice.username, text: 'b', clientMsgId: 'same' });

    expect([a.status, b.status]).toEqual([201, 201]);
    expect(b.body.message.seq).toBe(2);
  });

  it('When the recipient username is unknown, then 404 user_not_found and nothing is stored', async () => {
    const alice = h.newUser('alice');

    const res = await send(alice, { to: 'nobody-here-xyz', text: 'hello?' });

    expect(res.status).toBe(404);
    expect(res.body.code).toBe('user_not_found');
    expect(res.headers['content-type']).toMatch(/application\/problem\+json/);
  });

  it('When the username differs only in case, then it resolves to the same user', async () => {
    const alice = h.newUser('alice');
    const bob = h.newUser('bob');

    const res = await send(alice, { to: bob.username.toUpperCase(), text: 'case' });

    expect(res.status).toBe(201);
    expect(res.body.message.conversationId).toBe(directConversationId(alice.id, bob.id));
  });

  it('When a user writes to themself, then a one-member notes conversation is used', async () => {
    const alice = h.newUser('alice');

    const res = await send(alice, { to: alice.username, text: 'note to self' });

    expect(res.status).toBe(201);
    expect(res.body.message.conversationId).toBe(directConversationId(alice.id, alice.id));
    const event = await h.events.waitFor(
      'new_message',
      (e) => e.data.message.id === res.body.message.id,
    );
    expect(event.recipients).toEqual([alice.id]);
  });

  it('When sending by conversationId to a direct conversation the sender is not in, then 404 conversation_not_found, as for an unknown id', async () => {
    const [alice, bob, eve] = [h.newUser('alice'), h.newUser('bob'), h.newUser('eve')];
    const first = await send(alice, { to: bob.username, text: 'private' });

    const res = await send(eve, {
      conversationId: first.body.message.conversationId,
      text: 'let me in',
    });

    expect(res.status).toBe(404);
    expect(res.body.code).toBe('conversation_not_found');
  });

  it('When the conversationId does not exist, then 404 conversation_not_found', async () => {
    const alice = h.newUser('alice');

    for (const conversationId of ['d_nope_nope', '0123456789abcdef01234567', 'x']) {
      const res = await send(alice, { conversationId, text: 'hi' });
      expect(res.status).toBe(404);
      expect(res.body.code).toBe('conversation_not_found');
    }
  });

  it('When both or neither of to and conversationId are given, then 400 validation_failed', async () => {
    const alice = h.newUser('alice');
    const bob = h.newUser('bob');

    const both = await send(alice, { to: bob.username, conversationId: 'x', text: 'hi' });
    const neither = await send(alice, { text: 'hi' });

    expect(both.status).toBe(400);
    expect(neither.status).toBe(400);
    expect(both.body.code).toBe('validation_failed');
  });
});

describe('threads', () => {
  it('When replying to a message and to a reply, then both attach to the thread root and /replies lists them', async () => {
    const alice = h.newUser('alice');
    const bob = h.newUser('bob');
    const root = (await send(alice, { to: bob.username, text: 'root' })).body.message;
    const conversationId = root.conversationId;

    const r1 = await send(bob, { conversationId, text: 'reply 1', parentId: root.id });
    const r2 = await send(alice, {
      conversationId,
      text: 'reply to reply',
      parentId: r1.body.message.id,
    });
    await send(alice, { conversationId, text: 'not in thread' });

    expect(r1.status).toBe(201);
    expect(r1.body.message.parentId).toBe(root.id);
    expect(r2.body.message.parentId).toBe(root.id);
    const replies = await request(h.app.url)
      .get(`/chat/messages/${root.id}/replies`)
      .set(bearer(bob));
    expect(replies.status).toBe(200);
    expect(replies.body.messages.map((m: { text: string }) => m.text)).toEqual([
      'reply 1',
      'reply to reply',
    ]);
    expect(replies.body.hasMore).toBe(false);
    const page = await request(h.app.url)
      .get(`/chat/messages/${root.id}/replies`)
      .query({ limit: '1', after: String(r1.body.message.seq) })
      .set(bearer(bob));
    expect(page.body.messages.map((m: { seq: number }) => m.seq)).toEqual([r2.body.message.seq]);
  });

  it('When the parent is in another conversation or does not exist, then 404 message_not_found', async () => {
    const [alice, bob, carol] = [h.newUser('alice'), h.newUser('bob'), h.newUser('carol')];
    const elsewhere = (await send(alice, { to: carol.username, text: 'other' })).body.message;
    const here = (await send(alice, { to: bob.username, text: 'here' })).body.message;

    for (const parentId of [elsewhere.id, '0123456789abcdef01234567', 'not-an-id']) {
      const res = await send(alice, { conversationId: here.conversationId, text: 'r', parentId });
      expect(res.status).toBe(404);
      expect(res.body.code).toBe('message_not_found');
    }
  });

  it('When an outsider asks for replies in a direct conversation, then 404 as for an unknown or malformed id', async () => {
    const [alice, bob, eve] = [h.newUser('alice'), h.newUser('bob'), h.newUser('eve')];
    const root = (await send(alice, { to: bob.username, text: 'root' })).body.message;

    const outsider = await request(h.app.url)
      .get(`/chat/messages/${root.id}/replies`)
      .set(bearer(eve));
    const unknown = await request(h.app.url)
      .get('/chat/messages/0123456789abcdef01234567/replies')
      .set(bearer(eve));
    const malformed = await request(h.app.url)
      .get('/chat/messages/%24where/replies')
      .set(bearer(eve));

    expect([outsider.status, unknown.status, malformed.status]).toEqual([404, 404, 404]);
    expect(outsider.body.code).toBe('message_not_found');
    expect(malformed.body.code).toBe('message_not_found');
  });
});

describe('GET /chat/history', () => {
  async function conversationWith(count: number) {
    const alice = h.newUser('alice');
    const bob = h.newUser('bob');
    let conversationId = '';
    for (let i = 1; i <= count; i++) {
      const res = await send(
        i % 2 ? alice : bob,
        i === 1 ? { to: bob.username, text: `m${i}` } : { conversationId, text: `m${i}` },
      );
      conversationId = res.body.message.conversationId;
    }
    return { alice, bob, conversationId };
  }

  function seqs(res: request.Response): number[] {
    return historyResponseSchema.parse(res.body).messages.map((m) => m.seq);
  }

  it('When no cursor is given, then the newest `limit` messages come in ascending seq with hasMore', async () => {
    const { alice, conversationId } = await conversationWith(7);

    const res = await request(h.app.url)
      .get('/chat/history')
      .query({ conversationId, limit: '3' })
      .set(bearer(alice));

    expect(res.status).toBe(200);
    expect(seqs(res)).toEqual([5, 6, 7]);
    expect(res.body.hasMore).toBe(true);
    expect(res.body.conversation).toEqual({ id: conversationId, kind: 'direct' });
  });

  it('When paging with before and after, then each page is ascending and hasMore looks in that direction', async () => {
    const { bob, conversationId } = await conversationWith(7);
    const get = (query: Record<string, string>) =>
      request(h.app.url)
        .get('/chat/history')
        .query({ conversationId, ...query })
        .set(bearer(bob));

    const before5 = await get({ before: '5', limit: '3' });
    const before3 = await get({ before: '3', limit: '3' });
    const after2 = await get({ after: '2', limit: '3' });
    const after5 = await get({ after: '5', limit: '3' });
    const after0 = await get({ after: '0' });

    expect([seqs(before5), before5.body.hasMore]).toEqual([[2, 3, 4], true]);
    expect([seqs(before3), before3.body.hasMore]).toEqual([[1, 2], false]);
    expect([seqs(after2), after2.body.hasMore]).toEqual([[3, 4, 5], true]);
    expect([seqs(after5), after5.body.hasMore]).toEqual([[6, 7], false]);
    expect(seqs(after0)).toEqual([1, 2, 3, 4, 5, 6, 7]);
  });

  it('When asking with=username, then the direct conversation is found; before any message it is an empty page with its id', async () => {
    const { alice, bob, conversationId } = await conversationWith(2);
    const stranger = h.newUser('stranger');

    const found = await request(h.app.url)
      .get('/chat/history')
      .query({ with: bob.username })
      .set(bearer(alice));
    const empty = await request(h.app.url)
      .get('/chat/history')
      .query({ with: stranger.username })
      .set(bearer(alice));

    expect(found.body.conversationId).toBe(conversationId);
    expect(seqs(found)).toEqual([1, 2]);
    expect(empty.status).toBe(200);
    expect(empty.body).toEqual({
      conversationId: directConversationId(alice.id, stranger.id),
      conversation: { id: directConversationId(alice.id, stranger.id), kind: 'direct' },
      messages: [],
      hasMore: false,
    });
  });

  it('When the reader is not in the direct conversation, or it or the user is unknown, then 404', async () => {
    const { conversationId } = await conversationWith(1);
    const eve = h.newUser('eve');

    const outsider = await request(h.app.url)
      .get('/chat/history')
      .query({ conversationId })
      .set(bearer(eve));
    const unknown = await request(h.app.url)
      .get('/chat/history')
      .query({ conversationId: 'd_a_b' })
      .set(bearer(eve));
    const noUser = await request(h.app.url)
      .get('/chat/history')
      .query({ with: 'ghost-user-000' })
      .set(bearer(eve));

    expect([outsider.status, outsider.body.code]).toEqual([404, 'conversation_not_found']);
    expect([unknown.status, unknown.body.code]).toEqual([404, 'conversation_not_found']);
    expect([noUser.status, noUser.body.code]).toEqual([404, 'user_not_found']);
  });

  it('When the query is out of bounds or ambiguous, then 400 validation_failed', async () => {
    const alice = h.newUser('alice');
    const bad = [
      { conversationId: 'x', limit: '0' },
      { conversationId: 'x', limit: '101' },
      { conversationId: 'x', limit: 'ten' },
      { conversationId: 'x', before: '-1' },
      { conversationId: 'x', before: '3', after: '1' },
      { conversationId: 'x', with: alice.username },
      {},
    ];
    for (const query of bad) {
      const res = await request(h.app.url).get('/chat/history').query(query).set(bearer(alice));
      expect([res.status, res.body.code]).toEqual([400, 'validation_failed']);
    }
  });
});
