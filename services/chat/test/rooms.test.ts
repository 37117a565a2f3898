// Rooms: create, list, get, join, leave, invite; visibility of private rooms; and
// conversation_updated to the members before and after each change.
import { conversationResponseSchema, roomsResponseSchema } from '@parley/contracts';
import request from 'supertest';
import { bearer, useChatHarness, type TestUser } from './support/chat-harness';

const h = useChatHarness();

const api = () => request(h.app.url);

async function createRoom(owner: TestUser, body: Record<string, unknown>) {
  const res = await api().post('/chat/rooms').set(bearer(owner)).send(body);
  expect(res.status).toBe(201);
  return conversationResponseSchema.parse(res.body).conversation;
}

const ids = (users: TestUser[]) => users.map((u) => u.id).sort();

it('When a room is created with members, then all are in it and conversation_updated goes to them', async () => {
  const [owner, bob, carol] = [h.newUser('owner'), h.newUser('bob'), h.newUser('carol')];

  const room = await createRoom(owner, {
    name: '  Team  ',
    members: [bob.username, carol.username.toUpperCase(), bob.username],
  });

  expect(room).toMatchObject({ kind: 'room', name: 'Team', isPrivate: false, lastSeq: 0 });
  expect(room.members.map((m) => m.id).sort()).toEqual(ids([owner, bob, carol]));
  const event = await h.events.waitFor(
    'conversation_updated',
    (e) => e.data.conversation.id === room.id,
  );
  expect(event.recipients.sort()).toEqual(ids([owner, bob, carol]));
  expect(event.data.conversation).toEqual(room);
});

it('When an initial member is unknown, then 404 user_not_found and no room is created', async () => {
  const owner = h.newUser('owner');

  const res = await api()
    .post('/chat/rooms')
    .set(bearer(owner))
    .send({ name: 'x', members: ['ghost-member-1'] });

  expect([res.status, res.body.code]).toEqual([404, 'user_not_found']);
  expect(await h.db.collection('conversations').countDocuments({ createdBy: owner.id })).toBe(0);
});

it('When rooms are listed, then public rooms and my private rooms appear, but not others\u2019 private rooms', async () => {
  const [owner, member, outsider] = [
    h.newUser('owner'),
    h.newUser('member'),
    h.newUser('outsider'),
  ];
  const open = await createRoom(owner, { name: 'open' });
  const secret = await createRoom(owner, {
    name: 'secret',
    isPrivate: true,
    members: [member.username],
  });

  const forMember = roomsResponseSchema.parse(
    (await api().get('/chat/rooms').set(bearer(member))).body,
  ).rooms;
  const forOutsider = roomsResponseSchema.parse(
    (await api().get('/chat/rooms').set(bearer(outsider))).body,
  ).rooms;

  expect(forMember.map((r) => r.id)).toEqual(expect.arrayContaining([open.id, secret.id]));
  expect(forOutsider.map((r) => r.id)).toContain(open.id);
  expect(forOutsider.map((r) => r.id)).not.toContain(secret.id);
});

it('When an outsider asks for, joins or writes to a private room, then it does not exist for them (404)', async () => {
  const [owner, outsider] = [h.newUser('owner'), h.newUser('outsider')];
  const secret = await createRoom(owner, { name: 'secret', isPrivate: true });

  const get = await api().get(`/chat/rooms/${secret.id}`).set(bearer(outsider));
  const join = await api().post(`/chat/rooms/${secret.id}/join`).set(bearer(outsider));
  const send = await api()
    .post('/chat/send')
    .set(bearer(outsider))
    .send({ conversationId: secret.id, text: 'hi' });
  const history = await api()
    .get('/chat/history')
    .query({ conversationId: secret.id })
    .set(bearer(outsider));
  const invite = await api()
    .post(`/chat/rooms/${secret.id}/members`)
    .set(bearer(outsider))
    .send({ username: outsider.username });

  for (const res of [get, join, send, history, invite]) {
    expect([res.status, res.body.code]).toEqual([404, 'conversation_not_found']);
  }
  const own = await api().get(`/chat/rooms/${secret.id}`).set(bearer(owner));
  expect(own.status).toBe(200);
});

it('When someone joins a public room, then they can write and members before and after hear of it; joining twice changes nothing', async () => {
  const [owner, joiner] = [h.newUser('owner'), h.newUser('joiner')];
  const room = await createRoom(owner, { name: 'lobby' });

  const before = await api()
    .post('/chat/send')
    .set(bearer(joiner))
    .send({ conversationId: room.id, text: 'hi' });
  const join = await api().post(`/chat/rooms/${room.id}/join`).set(bearer(joiner));
  const again = await api().post(`/chat/rooms/${room.id}/join`).set(bearer(joiner));
  const after = await api()
    .post('/chat/send')
    .set(bearer(joiner))
    .send({ conversationId: room.id, text: 'hi' });

  expect([before.status, before.body.code]).toEqual([403, 'not_a_member']);
  expect(join.status).toBe(200);
  expect(again.body.conversation).toEqual(join.body.conversation);
  expect(after.status).toBe(201);
  const event = await h.events.waitFor(
    'conversation_updated',
    (e) => e.data.conversation.id === room.id && e.data.conversation.members.length === 2,
  );
  expect(event.recipients.sort()).toEqual(ids([owner, joiner]));
  await h.app.services.outbox.drain();
  expect(
    h.events.ofType('conversation_updated').filter((e) => e.data.conversation.id === room.id),
  ).toHaveLength(2);
});

it('When a member leaves, then the leaver is told too and can no longer write; leaving again is 403', async () => {
  const [owner, leaver] = [h.newUser('owner'), h.newUser('leaver')];
  const room = await createRoom(owner, { name: 'exit', members: [leaver.username] });

  const leave = await api().post(`/chat/rooms/${room.id}/leave`).set(bearer(leaver));
  const write = await api()
    .post('/chat/send')
    .set(bearer(leaver))
    .send({ conversationId: room.id, text: 'hi' });
  const again = await api().post(`/chat/rooms/${room.id}/leave`).set(bearer(leaver));

  expect(leave.status).toBe(200);
  expect(leave.body.conversation.members.map((m: { id: string }) => m.id)).toEqual([owner.id]);
  expect([write.status, again.status]).toEqual([403, 403]);
  const event = await h.events.waitFor(
    'conversation_updated',
    (e) => e.data.conversation.id === room.id && e.data.conversation.members.length === 1,
  );
  expect(event.recipients.sort()).toEqual(ids([owner, leaver]));
});

it('When a member of a private room invites someone, then they are added and told; a non-member of a public room gets 403', async () => {
  const [owner, guest, outsider] = [h.newUser('owner'), h.newUser('guest'), h.newUser('outsider')];
  const secret = await createRoom(owner, { name: 'secret', isPrivate: true });
  const open = await createRoom(owner, { name: 'open' });

  const invite = await api()
    .post(`/chat/rooms/${secret.id}/members`)
    .set(bearer(owner))
    .send({ username: guest.username });
  const twice = await api()
    .post(`/chat/rooms/${secret.id}/members`)
    .set(bearer(owner))
    .send({ username: guest.username });
  const byOutsider = await api()
    .post(`/chat/rooms/${open.id}/members`)
    .set(bearer(outsider))
    .send({ username: guest.username });
  const unknown = await api()
    .post(`/chat/rooms/${secret.id}/members`)
    .set(bearer(owner))
    .send({ username: 'ghost-user-42' });
  const byGuest = await api().get(`/chat/rooms/${secret.id}`).set(bearer(guest));

  expect(invite.status).toBe(200);
  expect(twice.body.conversation.members).toHaveLength(2);
  expect([byOutsider.status, byOutsider.body.code]).toEqual([403, 'not_a_member']);
  expect([unknown.status, unknown.body.code]).toEqual([404, 'user_not_found']);
  expect(byGuest.status).toBe(200);
  const event = await h.events.waitFor(
    'conversation_updated',
    (e) => e.data.conversation.id === secret.id && e.data.conversation.members.length === 2,
  );
  expect(event.recipients.sort()).toEqual(ids([owner, guest]));
});

it('When room ids are malformed or name a direct conversation, then 404; bad bodies are 400', async () => {
  const [alice, bob] = [h.newUser('alice'), h.newUser('bob')];
  const direct = (
    await api().post('/chat/send').set(bearer(alice)).send({ to: bob.username, text: 'x' })
  ).body.message.conversationId as string;

  for (const id of [
    'nope',
    '0123456789abcdef01234567',
    direct,
    encodeURIComponent('{"$ne":null}'),
  ]) {
    const res = await api().get(`/chat/rooms/${id}`).set(bearer(alice));
    expect([res.status, res.body.code]).toEqual([404, 'conversation_not_found']);
  }
  for (const body of [
    {},
    { name: '' },
    { name: '   ' },
    { name: 'x'.repeat(65) },
    { name: 'ok', extra: 1 },
    { name: { $gt: '' } },
    { name: 'ok', members: 'bob' },
  ]) {
    const res = await api().post('/chat/rooms').set(bearer(alice)).send(body);
    expect([res.status, res.body.code]).toEqual([400, 'validation_failed']);
  }
});

it('When membership changes through another instance, then a joiner may send there at once and a leaver is refused once the cache window has passed', async () => {
  const other = await h.startInstance({ conversationCacheTtlMs: 300 });
  const [owner, member] = [h.newUser('owner'), h.newUser('member')];
  const room = await createRoom(owner, { name: 'two-instances' });
  const sendVia = (url: string, user: TestUser, text: string) =>
    request(url).post('/chat/send').set(bearer(user)).send({ conversationId: room.id, text });
  // the other instance now holds the room as it was: without the member
  expect((await sendVia(other.url, owner, 'warm')).status).toBe(201);

  await api().post(`/chat/rooms/${room.id}/join`).set(bearer(member)).expect(200);
  const joined = await sendVia(other.url, member, 'just joined');
  await api().post(`/chat/rooms/${room.id}/leave`).set(bearer(member)).expect(200);
  await new Promise((resolve) => setTimeout(resolve, 350));
  const left = await sendVia(other.url, member, 'gone');

  expect(joined.status).toBe(201);
  expect(left.status).toBe(403);
  expect(left.body.code).toBe('not_a_member');
});

it('When a member who left retries a send that was stored, then the original comes back with 200, not 403', async () => {
  const [owner, member] = [h.newUser('owner'), h.newUser('member')];
  const room = await createRoom(owner, { name: 'retry-after-leave', members: [member.username] });
  const body = { conversationId: room.id, text: 'sent before leaving', clientMsgId: 'leave-1' };
  const first = await api().post('/chat/send').set(bearer(member)).send(body).expect(201);
  await api().post(`/chat/rooms/${room.id}/leave`).set(bearer(member)).expect(200);

  const retry = await api().post('/chat/send').set(bearer(member)).send(body);
  const fresh = await api()
    .post('/chat/send')
    .set(bearer(member))
    .send({ ...body, clientMsgId: 'leave-2' });

  expect(retry.status).toBe(200);
  expect(retry.body.message).toEqual(first.body.message);
  expect(fresh.status).toBe(403);
});
