// docs/design.md §7.2 for new messages: no per-message "published" write, a relay
// checkpoint per instance instead. An instance that dies with stored messages whose
// events the broker never confirmed leaves a checkpoint without a heartbeat; another
// instance adopts it after the lease and republishes that tail, each event with the id
// derived from its message, so the copies a consumer may already have are recognised.
import request from 'supertest';
import { waitFor } from '@parley/testing';
import { newMessageEventId } from '../src/outbox/chat-events';
import { bearer, useChatHarness } from './support/chat-harness';

const h = useChatHarness({ relayLeaseMs: 300, relayCheckpointIntervalMs: 100 });

const checkpoint = (id: string) =>
  h.db.collection('relay_checkpoints').findOne({ _id: id as never });

it('When an instance dies after storing messages it never got confirmed, then another instance adopts its checkpoint and announces each once, a room message to the room_members', async () => {
  const [ann, bob, cid] = [h.newUser('ann'), h.newUser('bob'), h.newUser('cid')];
  const room = await request(h.app.url)
    .post('/chat/rooms')
    .set(bearer(ann))
    .send({ name: 'relay', members: [bob.username, cid.username] })
    .expect(201);
  const roomId = room.body.conversation.id as string;
  // stores in the shared database, publishes to a broker that is not there
  const doomed = await h.startInstance({
    amqpUrl: 'amqp://guest:guest@127.0.0.1:1',
    publishTimeoutMs: 200,
    mongoUrl: h.mongoUrl,
    relayCheckpointIntervalMs: 100,
  });
  const doomedId = doomed.services.messageRelay.instanceId;
  const sent: string[] = [];
  for (let i = 0; i < 5; i++) {
    const res = await request(doomed.url)
      .post('/chat/send')
      .set(bearer(ann))
      .send({ to: bob.username, text: `stored, never announced ${i}` })
      .expect(201);
    sent.push(res.body.message.id as string);
  }
  const inRoom = await request(doomed.url)
    .post('/chat/send')
    .set(bearer(ann))
    .send({ conversationId: roomId, text: 'stored in the room, never announced' })
    .expect(201);
  const roomMessageId = inRoom.body.message.id as string;
  // a live instance's messages meanwhile: announced by it, not again by the adoption
  const live = await request(h.app.url)
    .post('/chat/send')
    .set(bearer(bob))
    .send({ to: ann.username, text: 'from the live instance' })
    .expect(201);
  expect(await checkpoint(doomedId)).not.toBeNull();

  await doomed.kill();
  await waitFor(async () => (await checkpoint(doomedId)) === null, {
    timeoutMs: 10_000,
    description: "the dead instance's checkpoint adopted",
  });
  const news = () =>
    h.events
      .ofType('new_message')
      .filter((e) => [...sent, live.body.message.id].includes(e.data.message.id));
  await waitFor(() => news().length >= 6, { timeoutMs: 5_000, description: '6 new_message' });
  const byMessage = new Map<string, number>();
  for (const event of news()) {
    byMessage.set(event.data.message.id, (byMessage.get(event.data.message.id) ?? 0) + 1);
    expect(event.id).toBe(newMessageEventId(event.data.message.id));
    expect(event.recipients.sort()).toEqual([ann.id, bob.id].sort());
  }
  expect([...byMessage.values()]).toEqual([1, 1, 1, 1, 1, 1]);
  expect(news().map((e) => e.data.message.seq)).toEqual(expect.arrayContaining([1, 2, 3, 4, 5, 6]));
  // a room's document holds no member list: the recipients come from room_members
  const roomNews = await waitFor(
    () => h.events.ofType('new_message').find((e) => e.data.message.id === roomMessageId),
    { timeoutMs: 5_000, description: 'the room message announced' },
  );
  expect(roomNews.id).toBe(newMessageEventId(roomMessageId));
  expect(roomNews.recipients.sort()).toEqual([ann.id, bob.id, cid.id].sort());
});

it('When an instance stops cleanly with every event confirmed, then it leaves no checkpoint to adopt', async () => {
  const [ann, bob] = [h.newUser('ann'), h.newUser('bob')];
  const other = await h.startInstance();
  const otherId = other.services.messageRelay.instanceId;
  await request(other.url)
    .post('/chat/send')
    .set(bearer(ann))
    .send({ to: bob.username, text: 'confirmed before the stop' })
    .expect(201);
  expect(await checkpoint(otherId)).not.toBeNull();
  await other.close();
  expect(await checkpoint(otherId)).toBeNull();
  expect(other.services.messageRelay.open).toBe(0);
});

it('When a message event is derived twice, then it has the same id both times', () => {
  const id = '65f0c0ffee0000000000abcd';
  expect(newMessageEventId(id)).toBe(newMessageEventId(id));
  expect(newMessageEventId(id)).not.toBe(newMessageEventId('65f0c0ffee0000000000abce'));
  expect(newMessageEventId(id)).toMatch(
    /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
  );
});
