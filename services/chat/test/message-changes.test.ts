// Edits, deletes (tombstones) and reactions: sender rules, idempotency, and the event
// each change emits — message_updated with what an edit or delete changed, `reaction`
// with the one reaction added or removed.
import { messageResponseSchema, type Message } from '@parley/contracts';
import request from 'supertest';
import { bearer, useChatHarness, type TestUser } from './support/chat-harness';

const h = useChatHarness();

const api = () => request(h.app.url);

async function directMessage(): Promise<{ alice: TestUser; bob: TestUser; message: Message }> {
  const [alice, bob] = [h.newUser('alice'), h.newUser('bob')];
  const res = await api()
    .post('/chat/send')
    .set(bearer(alice))
    .send({ to: bob.username, text: 'original' });
  return { alice, bob, message: messageResponseSchema.parse(res.body).message };
}

function updatesOf(id: string) {
  return h.events.ofType('message_updated').filter((e) => e.data.message.id === id);
}

it('When the sender edits a message, then the text and editedAt change and message_updated goes to both', async () => {
  const { alice, bob, message } = await directMessage();

  const res = await api()
    .patch(`/chat/messages/${message.id}`)
    .set(bearer(alice))
    .send({ text: 'edited' });

  expect(res.status).toBe(200);
  expect(res.body.message).toMatchObject({ id: message.id, seq: message.seq, text: 'edited' });
  expect(res.body.message.editedAt).toEqual(expect.any(String));
  const event = await h.events.waitFor('message_updated', (e) => e.data.message.id === message.id);
  expect(event.data.message).toEqual({
    id: message.id,
    conversationId: message.conversationId,
    seq: message.seq,
    text: 'edited',
    editedAt: res.body.message.editedAt,
  });
  expect(event.recipients.sort()).toEqual([alice.id, bob.id].sort());
});

it('When someone else edits or deletes a message, then 403 forbidden; an outsider of the direct conversation gets 404', async () => {
  const { bob, message } = await directMessage();
  const eve = h.newUser('eve');

  const edit = await api()
    .patch(`/chat/messages/${message.id}`)
    .set(bearer(bob))
    .send({ text: 'hijack' });
  const del = await api().delete(`/chat/messages/${message.id}`).set(bearer(bob));
  const outsider = await api()
    .patch(`/chat/messages/${message.id}`)
    .set(bearer(eve))
    .send({ text: 'hijack' });

  expect([edit.status, edit.body.code]).toEqual([403, 'forbidden']);
  expect([del.status, del.body.code]).toEqual([403, 'forbidden']);
  expect([outsider.status, outsider.body.code]).toEqual([404, 'message_not_found']);
});

it('When the sender deletes a message, then a tombstone stays in history, one event is sent, and a second delete is a no-op', async () => {
  const { alice, message } = await directMessage();
  await api()
    .post(`/chat/messages/${message.id}/reactions`)
    .set(bearer(alice))
    .send({ emoji: '👍' });

  const del = await api().delete(`/chat/messages/${message.id}`).set(bearer(alice));
  const again = await api().delete(`/chat/messages/${message.id}`).set(bearer(alice));
  const edit = await api()
    .patch(`/chat/messages/${message.id}`)
    .set(bearer(alice))
    .send({ text: 'back' });
  const react = await api()
    .post(`/chat/messages/${message.id}/reactions`)
    .set(bearer(alice))
    .send({ emoji: '👍' });

  expect([del.status, again.status]).toEqual([204, 204]);
  expect([edit.status, edit.body.code]).toEqual([404, 'message_not_found']);
  expect([react.status, react.body.code]).toEqual([404, 'message_not_found']);
  const history = await api()
    .get('/chat/history')
    .query({ conversationId: message.conversationId })
    .set(bearer(alice));
  expect(history.body.messages[0]).toMatchObject({
    id: message.id,
    seq: 1,
    text: '',
    reactions: {},
  });
  expect(history.body.messages[0].deletedAt).toEqual(expect.any(String));
  await h.events.waitFor(
    'message_updated',
    (e) => e.data.message.id === message.id && e.data.message.deletedAt !== undefined,
  );
  await h.app.services.outbox.drain();
  expect(updatesOf(message.id).filter((e) => e.data.message.deletedAt !== undefined)).toHaveLength(
    1,
  );
});

it('When users react, then reactions map emoji to user ids, once per user per emoji, and removal works', async () => {
  const { alice, bob, message } = await directMessage();
  const react = (user: TestUser, emoji: string) =>
    api().post(`/chat/messages/${message.id}/reactions`).set(bearer(user)).send({ emoji });

  await react(alice, '👍🏽');
  await Promise.all([react(bob, '👍🏽'), react(bob, '👍🏽'), react(bob, ':tada:')]);
  const final = await react(alice, '🇫🇷');
  const removed = await api()
    .delete(`/chat/messages/${message.id}/reactions/${encodeURIComponent('👍🏽')}`)
    .set(bearer(bob));
  const removedAgain = await api()
    .delete(`/chat/messages/${message.id}/reactions/${encodeURIComponent('👍🏽')}`)
    .set(bearer(bob));

  expect(final.body.message.reactions).toEqual({
    '👍🏽': [alice.id, bob.id],
    ':tada:': [bob.id],
    '🇫🇷': [alice.id],
  });
  expect(removed.status).toBe(200);
  expect(removed.body.message.reactions).toEqual({
    '👍🏽': [alice.id],
    ':tada:': [bob.id],
    '🇫🇷': [alice.id],
  });
  expect(removedAgain.body.message).toEqual(removed.body.message);
  await h.events.waitFor('reaction', (e) => e.data.messageId === message.id && !e.data.added);
  await h.app.services.outbox.drain();
  // alice 👍🏽, bob 👍🏽 (once), bob :tada:, alice 🇫🇷, bob removes 👍🏽: one event each
  const changes = h.events
    .ofType('reaction')
    .filter((e) => e.data.messageId === message.id)
    .map((e) => e.data);
  expect(changes).toHaveLength(5);
  expect(changes).toEqual(
    expect.arrayContaining([
      {
        messageId: message.id,
        conversationId: message.conversationId,
        emoji: '👍🏽',
        userId: alice.id,
        added: true,
      },
      {
        messageId: message.id,
        conversationId: message.conversationId,
        emoji: '👍🏽',
        userId: bob.id,
        added: true,
      },
      {
        messageId: message.id,
        conversationId: message.conversationId,
        emoji: ':tada:',
        userId: bob.id,
        added: true,
      },
      {
        messageId: message.id,
        conversationId: message.conversationId,
        emoji: '🇫🇷',
        userId: alice.id,
        added: true,
      },
      {
        messageId: message.id,
        conversationId: message.conversationId,
        emoji: '👍🏽',
        userId: bob.id,
        added: false,
      },
    ]),
  );
  expect(updatesOf(message.id)).toHaveLength(0);
});

it('When the emoji or message id is bad, then 400 or 404, never 500', async () => {
  const { alice, message } = await directMessage();

  const notEmoji = await api()
    .post(`/chat/messages/${message.id}/reactions`)
    .set(bearer(alice))
    .send({ emoji: 'abc' });
  const twoEmoji = await api()
    .post(`/chat/messages/${message.id}/reactions`)
    .set(bearer(alice))
    .send({ emoji: '👍👍' });
  const badPath = await api()
    .delete(`/chat/messages/${message.id}/reactions/abc`)
    .set(bearer(alice));
  const badId = await api()
    .patch('/chat/messages/not-an-object-id')
    .set(bearer(alice))
    .send({ text: 'x' });
  const unknownId = await api()
    .delete('/chat/messages/0123456789abcdef01234567')
    .set(bearer(alice));
  const emptyText = await api()
    .patch(`/chat/messages/${message.id}`)
    .set(bearer(alice))
    .send({ text: ' ' });
  const extra = await api()
    .patch(`/chat/messages/${message.id}`)
    .set(bearer(alice))
    .send({ text: 'x', seq: 9 });

  expect([
    notEmoji.status,
    twoEmoji.status,
    badPath.status,
    emptyText.status,
    extra.status,
  ]).toEqual([400, 400, 400, 400, 400]);
  expect([badId.status, badId.body.code]).toEqual([404, 'message_not_found']);
  expect([unknownId.status, unknownId.body.code]).toEqual([404, 'message_not_found']);
});
