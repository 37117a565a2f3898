// docs/design.md §4.4: a direct conversation or a private room, and every message in it, is
// invisible to anyone outside — the answer is the one an unknown id gets (status, code,
// title, detail), after the same database reads — while a public room stays 403
// not_a_member. Every endpoint that takes a conversation or message id is asked.
import { problemSchema } from '@parley/contracts';
import request from 'supertest';
import { bearer, useChatHarness, type TestUser } from './support/chat-harness';

const h = useChatHarness();

const api = () => request(h.app.url);

type Probe = (id: string, as: TestUser) => request.Test;

const conversationProbes: Record<string, Probe> = {
  history: (id, as) => api().get('/chat/history').query({ conversationId: id }).set(bearer(as)),
  read: (id, as) =>
    api()
      .post(`/chat/conversations/${encodeURIComponent(id)}/read`)
      .set(bearer(as))
      .send({ seq: 1 }),
  typing: (id, as) =>
    api().post('/chat/typing').set(bearer(as)).send({ conversationId: id, isTyping: true }),
  send: (id, as) =>
    api().post('/chat/send').set(bearer(as)).send({ conversationId: id, text: 'let me in' }),
  room: (id, as) =>
    api()
      .get(`/chat/rooms/${encodeURIComponent(id)}`)
      .set(bearer(as)),
  join: (id, as) =>
    api()
      .post(`/chat/rooms/${encodeURIComponent(id)}/join`)
      .set(bearer(as)),
  leave: (id, as) =>
    api()
      .post(`/chat/rooms/${encodeURIComponent(id)}/leave`)
      .set(bearer(as)),
  invite: (id, as) =>
    api()
      .post(`/chat/rooms/${encodeURIComponent(id)}/members`)
      .set(bearer(as))
      .send({ username: as.username }),
};

const messageProbes: Record<string, Probe> = {
  edit: (id, as) => api().patch(`/chat/messages/${id}`).set(bearer(as)).send({ text: 'x' }),
  delete: (id, as) => api().delete(`/chat/messages/${id}`).set(bearer(as)),
  react: (id, as) =>
    api().post(`/chat/messages/${id}/reactions`).set(bearer(as)).send({ emoji: '👍' }),
  unreact: (id, as) =>
    api()
      .delete(`/chat/messages/${id}/reactions/${encodeURIComponent('👍')}`)
      .set(bearer(as)),
  replies: (id, as) => api().get(`/chat/messages/${id}/replies`).set(bearer(as)),
};

/** What a client can tell apart: everything but `instance` (the path it asked). */
function answer(res: request.Response) {
  const { instance: _path, ...rest } = problemSchema.parse(res.body);
  expect(rest.status).toBe(res.status);
  return rest;
}

const READS = new Set(['find', 'aggregate', 'count', 'distinct']);

/**
 * The database reads the chat instance makes while `work` runs: the round trips an
 * answer waits for (background writes — the outbox's marks, the rate limit sync — aside).
 */
async function commandsDuring(work: () => Promise<unknown>): Promise<string[]> {
  const seen: string[] = [];
  const listener = (event: { commandName: string; command: Record<string, unknown> }) => {
    const target = event.command[event.commandName];
    if (READS.has(event.commandName) && target !== 'rate_limit_slices')
      seen.push(`${event.commandName} ${String(target)}`);
  };
  h.mongo.on('commandStarted', listener);
  try {
    await work();
  } finally {
    h.mongo.off('commandStarted', listener);
  }
  return seen;
}

async function directConversation(): Promise<{ conversationId: string; messageId: string }> {
  const [alice, bob] = [h.newUser('alice'), h.newUser('bob')];
  const res = await api()
    .post('/chat/send')
    .set(bearer(alice))
    .send({ to: bob.username, text: 'just us' })
    .expect(201);
  return { conversationId: res.body.message.conversationId, messageId: res.body.message.id };
}

async function privateRoom(): Promise<{ conversationId: string; messageId: string }> {
  const owner = h.newUser('owner');
  const room = await api()
    .post('/chat/rooms')
    .set(bearer(owner))
    .send({ name: 'secret', isPrivate: true })
    .expect(201);
  const conversationId = room.body.conversation.id as string;
  const sent = await api()
    .post('/chat/send')
    .set(bearer(owner))
    .send({ conversationId, text: 'hush' })
    .expect(201);
  return { conversationId, messageId: sent.body.message.id };
}

describe.each([
  [
    'a direct conversation',
    directConversation,
    'd_000000000000000000000000_ffffffffffffffffffffffff',
  ],
  ['a private room', privateRoom, 'ffffffffffffffffffffffff'],
])('When an outsider probes %s', (_what, make, unknownId) => {
  it.each(Object.entries(conversationProbes))(
    'then %s answers exactly as for an unknown id, after the same reads',
    async (_name, probe) => {
      const { conversationId } = await make();
      const eve = h.newUser('eve');

      let foreign!: request.Response;
      let unknown!: request.Response;
      const foreignReads = await commandsDuring(async () => {
        foreign = await probe(conversationId, eve);
      });
      const unknownReads = await commandsDuring(async () => {
        unknown = await probe(unknownId, eve);
      });

      expect(foreign.status).toBe(404);
      expect(answer(foreign)).toEqual(answer(unknown));
      expect(answer(foreign).code).toBe('conversation_not_found');
      expect(foreignReads).toEqual(unknownReads);
    },
  );

  it.each(Object.entries(messageProbes))(
    'then %s of one of its messages answers exactly as for an unknown message, after the same reads',
    async (_name, probe) => {
      const { messageId } = await make();
      const eve = h.newUser('eve');

      let foreign!: request.Response;
      let unknown!: request.Response;
      const foreignReads = await commandsDuring(async () => {
        foreign = await probe(messageId, eve);
      });
      const unknownReads = await commandsDuring(async () => {
        unknown = await probe('0123456789abcdef01234567', eve);
      });

      expect(answer(foreign)).toEqual(answer(unknown));
      expect(answer(foreign)).toMatchObject({ status: 404, code: 'message_not_found' });
      expect(foreignReads).toEqual(unknownReads);
    },
  );
});

it('When an outsider reads or writes a public room, then it is 403 not_a_member (a public room is no secret)', async () => {
  const owner = h.newUser('owner');
  const room = await api()
    .post('/chat/rooms')
    .set(bearer(owner))
    .send({ name: 'lobby' })
    .expect(201);
  const conversationId = room.body.conversation.id as string;
  const sent = await api()
    .post('/chat/send')
    .set(bearer(owner))
    .send({ conversationId, text: 'welcome' });
  const eve = h.newUser('eve');

  const history = await conversationProbes['history']!(conversationId, eve);
  const write = await conversationProbes['send']!(conversationId, eve);
  const edit = await messageProbes['react']!(sent.body.message.id, eve);

  expect([history.status, history.body.code]).toEqual([403, 'not_a_member']);
  expect([write.status, write.body.code]).toEqual([403, 'not_a_member']);
  expect([edit.status, edit.body.code]).toEqual([403, 'not_a_member']);
});

it('When an outsider syncs a direct conversation of others and made-up ids, then all come back in notFound and none of their messages', async () => {
  const { conversationId } = await directConversation();
  const eve = h.newUser('eve');

  const res = await api()
    .post('/chat/sync')
    .set(bearer(eve))
    .send({ conversations: { [conversationId]: 0, d_a_b: 0, ffffffffffffffffffffffff: 0 } });

  expect(res.status).toBe(200);
  expect(res.body).toEqual({
    conversations: [],
    notFound: [conversationId, 'd_a_b', 'ffffffffffffffffffffffff'],
    complete: true,
  });
});
