// docs/design.md §10, room roles and moderation: owner, admin and member; role changes,
// room edits, removal, bans (holding against join, invitation and send), deleting any
// message, the last owner; each change a conversation_updated to the members before
// and after it; and the races: two owners changing roles at once, a ban during a
// send, a ban racing a join.
import {
  bansResponseSchema,
  conversationResponseSchema,
  type Conversation,
} from '@parley/contracts';
import request from 'supertest';
import type { InsertAttempt } from '../src/messages/message-store';
import { requireRoomRole } from '../src/rooms/rooms';
import { bearer, useChatHarness, type ChatInstance, type TestUser } from './support/chat-harness';

const h = useChatHarness();
const api = (instance: ChatInstance = h.app) => request(instance.url);

/** A gate a hook waits on, and a signal that it got there. */
function gate() {
  let open!: () => void;
  let reached!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  const arrived = new Promise<void>((resolve) => (reached = resolve));
  return { open, opened, reached, arrived };
}

let pauseInsert: ((attempt: InsertAttempt) => Promise<void> | void) | undefined;
let pauseClaim: ((roomId: string) => Promise<void> | void) | undefined;
let seamed: ChatInstance;

beforeAll(async () => {
  seamed = await h.startInstance({
    messageHooks: { beforeInsert: (attempt) => pauseInsert?.(attempt) },
    roomChangeHooks: { afterClaim: (roomId) => pauseClaim?.(roomId) },
  });
});
afterEach(() => {
  pauseInsert = undefined;
  pauseClaim = undefined;
});

async function roomOf(owner: TestUser, members: TestUser[], isPrivate = false) {
  const res = await api()
    .post('/chat/rooms')
    .set(bearer(owner))
    .send({ name: 'moderated', isPrivate, members: members.map((m) => m.username) });
  expect(res.status).toBe(201);
  return conversationResponseSchema.parse(res.body).conversation;
}

const roles = (room: Conversation) =>
  Object.fromEntries(room.members.map((m) => [m.username, m.role]));

async function send(user: TestUser, conversationId: string, text: string, on = h.app) {
  return api(on).post('/chat/send').set(bearer(user)).send({ conversationId, text });
}

async function storedTexts(conversationId: string): Promise<string[]> {
  const docs = await h.db
    .collection('messages')
    .find({ conversationId })
    .sort({ seq: 1 })
    .toArray();
  return docs.map((d) => d['text'] as string);
}

it('When a room is created, then its creator is the owner, the others members, and the list shows roles and the count', async () => {
  const [owner, bob] = [h.newUser('owner'), h.newUser('bob')];

  const room = await roomOf(owner, [bob]);

  expect(roles(room)).toEqual({ [owner.username]: 'owner', [bob.username]: 'member' });
  expect(room.memberCount).toBe(2);
  const stored = await h.db.collection('conversations').findOne({ _id: room.id as never });
  expect(stored).toMatchObject({ memberVersion: 1, memberCount: 2 });
  expect(stored).not.toHaveProperty('members');
  expect(stored).not.toHaveProperty('memberIds');
  expect(await h.db.collection('room_members').countDocuments({ roomId: room.id })).toBe(2);
});

it('When the owner makes a member admin, then everyone sees the role live; a non-owner, an unknown user or a bad body is refused and changes nothing', async () => {
  const [owner, bob, carol] = [h.newUser('owner'), h.newUser('bob'), h.newUser('carol')];
  const room = await roomOf(owner, [bob, carol]);

  const res = await api()
    .put(`/chat/rooms/${room.id}/roles/${bob.username}`)
    .set(bearer(owner))
    .send({ role: 'admin' });

  expect(res.status).toBe(200);
  expect(roles(res.body.conversation)[bob.username]).toBe('admin');
  const event = await h.events.waitFor(
    'conversation_updated',
    (e) =>
      e.data.conversation.id === room.id &&
      e.data.conversation.members.some((m) => m.id === bob.id && m.role === 'admin'),
  );
  expect(event.recipients.sort()).toEqual([owner.id, bob.id, carol.id].sort());

  const refusals = await Promise.all([
    api()
      .put(`/chat/rooms/${room.id}/roles/${carol.username}`)
      .set(bearer(bob))
      .send({ role: 'admin' }),
    api()
      .put(`/chat/rooms/${room.id}/roles/nobody-here-x`)
      .set(bearer(owner))
      .send({ role: 'admin' }),
    api()
      .put(`/chat/rooms/${room.id}/roles/${h.newUser('out').username}`)
      .set(bearer(owner))
      .send({ role: 'admin' }),
    api()
      .put(`/chat/rooms/${room.id}/roles/${carol.username}`)
      .set(bearer(owner))
      .send({ role: 'admin', extra: 1 }),
    api()
      .put(`/chat/rooms/${room.id}/roles/${carol.username}`)
      .set(bearer(owner))
      .send({ role: 'king' }),
  ]);
  expect(refusals.map((r) => [r.status, r.body.code])).toEqual([
    [403, 'forbidden'],
    [404, 'user_not_found'],
    [404, 'user_not_found'],
    [400, 'validation_failed'],
    [400, 'validation_failed'],
  ]);
  const after = await api().get(`/chat/rooms/${room.id}`).set(bearer(owner));
  expect(roles(after.body.conversation)[carol.username]).toBe('member');
});

it('When an admin edits the room, then name, description and privacy change with an event; a member may not, and an empty or unknown-field body is 400', async () => {
  const [owner, admin, member] = [h.newUser('owner'), h.newUser('admin'), h.newUser('member')];
  const room = await roomOf(owner, [admin, member]);
  await api()
    .put(`/chat/rooms/${room.id}/roles/${admin.username}`)
    .set(bearer(owner))
    .send({ role: 'admin' })
    .expect(200);

  const res = await api()
    .patch(`/chat/rooms/${room.id}`)
    .set(bearer(admin))
    .send({ name: ' Renamed ', description: 'be kind', isPrivate: true });

  expect(res.status).toBe(200);
  expect(res.body.conversation).toMatchObject({
    name: 'Renamed',
    description: 'be kind',
    isPrivate: true,
  });
  await h.events.waitFor(
    'conversation_updated',
    (e) => e.data.conversation.id === room.id && e.data.conversation.name === 'Renamed',
  );
  const refusals = await Promise.all([
    api().patch(`/chat/rooms/${room.id}`).set(bearer(member)).send({ name: 'mine' }),
    api().patch(`/chat/rooms/${room.id}`).set(bearer(owner)).send({}),
    api().patch(`/chat/rooms/${room.id}`).set(bearer(owner)).send({ name: 'x', topic: 'y' }),
    api()
      .patch(`/chat/rooms/${room.id}`)
      .set(bearer(h.newUser('out')))
      .send({ name: 'x' }),
  ]);
  expect(refusals.map((r) => [r.status, r.body.code])).toEqual([
    [403, 'forbidden'],
    [400, 'validation_failed'],
    [400, 'validation_failed'],
    [404, 'conversation_not_found'],
  ]);
  const after = await api().get(`/chat/rooms/${room.id}`).set(bearer(owner));
  expect(after.body.conversation.name).toBe('Renamed');
});

it('When an admin removes a member, then the removed user gets that last event and no later message of the room; an admin cannot remove an admin', async () => {
  const [owner, admin, admin2, bob] = ['owner', 'admin', 'admin2', 'bob'].map((p) =>
    h.newUser(p),
  ) as [TestUser, TestUser, TestUser, TestUser];
  const room = await roomOf(owner, [admin, admin2, bob]);
  for (const a of [admin, admin2]) {
    await api()
      .put(`/chat/rooms/${room.id}/roles/${a.username}`)
      .set(bearer(owner))
      .send({ role: 'admin' })
      .expect(200);
  }

  const res = await api()
    .delete(`/chat/rooms/${room.id}/members/${bob.username}`)
    .set(bearer(admin));

  expect(res.status).toBe(200);
  expect(res.body.conversation.members.map((m: { id: string }) => m.id)).not.toContain(bob.id);
  const removal = await h.events.waitFor(
    'conversation_updated',
    (e) =>
      e.data.conversation.id === room.id &&
      !e.data.conversation.members.some((m) => m.id === bob.id),
  );
  expect(removal.recipients).toContain(bob.id);
  const sent = await send(owner, room.id, 'after bob left');
  expect(sent.status).toBe(201);
  const event = await h.events.waitFor(
    'new_message',
    (e) => e.data.message.id === sent.body.message.id,
  );
  expect(event.recipients).not.toContain(bob.id);
  expect((await send(bob, room.id, 'still here?')).body.code).toBe('not_a_member');

  const refused = await api()
    .delete(`/chat/rooms/${room.id}/members/${admin2.username}`)
    .set(bearer(admin));
  expect([refused.status, refused.body.code]).toEqual([403, 'forbidden']);
});

it('When a member is banned, then they are out and refused join, invitation and send with 403 banned until unbanned; only owners and admins see or change bans', async () => {
  const [owner, bob, carol] = [h.newUser('owner'), h.newUser('bob'), h.newUser('carol')];
  const room = await roomOf(owner, [bob, carol]);

  const ban = await api()
    .post(`/chat/rooms/${room.id}/bans`)
    .set(bearer(owner))
    .send({ username: bob.username, reason: 'spam' });

  expect(ban.status).toBe(200);
  expect(ban.body.conversation.members.map((m: { id: string }) => m.id)).not.toContain(bob.id);
  const banEvent = await h.events.waitFor(
    'conversation_updated',
    (e) =>
      e.data.conversation.id === room.id &&
      !e.data.conversation.members.some((m) => m.id === bob.id),
  );
  expect(banEvent.recipients).toContain(bob.id);
  const refusals = await Promise.all([
    api().post(`/chat/rooms/${room.id}/join`).set(bearer(bob)),
    api()
      .post(`/chat/rooms/${room.id}/members`)
      .set(bearer(carol))
      .send({ username: bob.username }),
    send(bob, room.id, 'let me in'),
    api().get(`/chat/rooms/${room.id}/bans`).set(bearer(carol)),
    api().post(`/chat/rooms/${room.id}/bans`).set(bearer(carol)).send({ username: owner.username }),
    api().post(`/chat/rooms/${room.id}/bans`).set(bearer(owner)).send({ username: owner.username }),
    api().post(`/chat/rooms/${room.id}/bans`).set(bearer(owner)).send({ username: 'ghost-user-x' }),
    api()
      .post(`/chat/rooms/${room.id}/bans`)
      .set(bearer(owner))
      .send({ username: carol.username, why: 1 }),
  ]);
  expect(refusals.map((r) => [r.status, r.body.code])).toEqual([
    [403, 'banned'],
    [403, 'banned'],
    [403, 'banned'],
    [403, 'forbidden'],
    [403, 'forbidden'],
    [403, 'forbidden'],
    [404, 'user_not_found'],
    [400, 'validation_failed'],
  ]);
  expect(await storedTexts(room.id)).toEqual([]);
  const bans = bansResponseSchema.parse(
    (await api().get(`/chat/rooms/${room.id}/bans`).set(bearer(owner)).expect(200)).body,
  ).bans;
  expect(bans).toEqual([
    expect.objectContaining({ user: { id: bob.id, username: bob.username }, reason: 'spam' }),
  ]);

  await api().delete(`/chat/rooms/${room.id}/bans/${bob.username}`).set(bearer(owner)).expect(204);
  await api().post(`/chat/rooms/${room.id}/join`).set(bearer(bob)).expect(200);
  expect((await send(bob, room.id, 'back')).status).toBe(201);
});

it('When an owner or admin deletes someone else\u2019s message, then it becomes a tombstone; a member cannot', async () => {
  const [owner, admin, bob] = [h.newUser('owner'), h.newUser('admin'), h.newUser('bob')];
  const room = await roomOf(owner, [admin, bob]);
  await api()
    .put(`/chat/rooms/${room.id}/roles/${admin.username}`)
    .set(bearer(owner))
    .send({ role: 'admin' })
    .expect(200);
  const first = (await send(bob, room.id, 'rude')).body.message.id as string;
  const second = (await send(owner, room.id, 'hello')).body.message.id as string;

  const byMember = await api().delete(`/chat/messages/${second}`).set(bearer(bob));
  expect([byMember.status, byMember.body.code]).toEqual([403, 'forbidden']);
  await api().delete(`/chat/messages/${first}`).set(bearer(admin)).expect(204);

  expect(await storedTexts(room.id)).toEqual(['', 'hello']);
  await h.events.waitFor(
    'message_updated',
    (e) => e.data.message.id === first && e.data.message.deletedAt !== undefined,
  );
});

it('When the last owner tries to leave or step down, then 403 forbidden; after handing over, they can', async () => {
  const [owner, bob] = [h.newUser('owner'), h.newUser('bob')];
  const room = await roomOf(owner, [bob]);

  const leave = await api().post(`/chat/rooms/${room.id}/leave`).set(bearer(owner));
  const stepDown = await api()
    .put(`/chat/rooms/${room.id}/roles/${owner.username}`)
    .set(bearer(owner))
    .send({ role: 'admin' });
  const removeSelf = await api()
    .delete(`/chat/rooms/${room.id}/members/${owner.username}`)
    .set(bearer(owner));
  expect([leave, stepDown, removeSelf].map((r) => [r.status, r.body.code])).toEqual([
    [403, 'forbidden'],
    [403, 'forbidden'],
    [403, 'forbidden'],
  ]);

  await api()
    .put(`/chat/rooms/${room.id}/roles/${bob.username}`)
    .set(bearer(owner))
    .send({ role: 'owner' })
    .expect(200);
  const left = await api().post(`/chat/rooms/${room.id}/leave`).set(bearer(owner));
  expect(left.status).toBe(200);
  expect(roles(left.body.conversation)).toEqual({ [bob.username]: 'owner' });
});

it('When two owners demote each other at the same moment, then exactly one wins and the room keeps an owner', async () => {
  for (let round = 0; round < 5; round++) {
    const [a, b] = [h.newUser('a'), h.newUser('b')];
    const room = await roomOf(a, [b]);
    await api()
      .put(`/chat/rooms/${room.id}/roles/${b.username}`)
      .set(bearer(a))
      .send({ role: 'owner' })
      .expect(200);

    // two instances, so neither request waits for the other inside one process
    const [byA, byB] = await Promise.all([
      api(h.app)
        .put(`/chat/rooms/${room.id}/roles/${b.username}`)
        .set(bearer(a))
        .send({ role: 'member' }),
      api(seamed)
        .put(`/chat/rooms/${room.id}/roles/${a.username}`)
        .set(bearer(b))
        .send({ role: 'member' }),
    ]);

    expect([byA.status, byB.status].sort()).toEqual([200, 403]);
    const owners = await h.db
      .collection('room_members')
      .countDocuments({ roomId: room.id, role: 'owner' });
    expect(owners).toBe(1);
    const doc = await h.db.collection('conversations').findOne({ _id: room.id as never });
    expect(doc).toMatchObject({ memberCount: 2 });
    expect(doc).not.toHaveProperty('membershipChangeUntil');
  }
});

it('When a ban lands while a send of the banned user is on its way, then that send (admitted before) is stored, and every send after the ban answered is 403 banned', async () => {
  const [owner, bob] = [h.newUser('owner'), h.newUser('bob')];
  const room = await roomOf(owner, [bob]);
  const g = gate();
  pauseInsert = async (attempt) => {
    if (attempt.conversationId !== room.id) return;
    g.reached();
    await g.opened;
  };

  const inFlight = send(bob, room.id, 'racing the ban', seamed);
  await g.arrived;
  await api(seamed)
    .post(`/chat/rooms/${room.id}/bans`)
    .set(bearer(owner))
    .send({ username: bob.username })
    .expect(200);
  pauseInsert = undefined;
  g.open();

  expect((await inFlight).status).toBe(201);
  const after = await send(bob, room.id, 'after the ban', seamed);
  expect([after.status, after.body.code]).toEqual([403, 'banned']);
  expect(await storedTexts(room.id)).toEqual(['racing the ban']);
});

it('When a ban races a join (the join claimed the room first), then the user ends up banned and not a member', async () => {
  const [owner, eve] = [h.newUser('owner'), h.newUser('eve')];
  const room = await roomOf(owner, []);
  const g = gate();
  pauseClaim = async (roomId) => {
    if (roomId !== room.id) return;
    pauseClaim = undefined; // only the join's change
    g.reached();
    await g.opened;
  };

  // supertest starts a request only when it is awaited: then() starts it now
  const join = api(seamed)
    .post(`/chat/rooms/${room.id}/join`)
    .set(bearer(eve))
    .then((r) => r);
  await g.arrived;
  const ban = api(h.app)
    .post(`/chat/rooms/${room.id}/bans`)
    .set(bearer(owner))
    .send({ username: eve.username })
    .then((r) => r);
  // the ban is stored before its room change, which waits for the join's to finish
  await waitForBan(room.id, eve.id);
  g.open();

  expect((await join).status).toBe(200);
  expect((await ban).status).toBe(200);
  expect(
    await h.db.collection('room_members').countDocuments({ roomId: room.id, userId: eve.id }),
  ).toBe(0);
  const rejoin = await api().post(`/chat/rooms/${room.id}/join`).set(bearer(eve));
  expect([rejoin.status, rejoin.body.code]).toEqual([403, 'banned']);
});

async function waitForBan(roomId: string, userId: string): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (Date.now() < deadline) {
    if ((await h.db.collection('room_bans').countDocuments({ roomId, userId })) > 0) return;
    await new Promise((resolve) => setImmediate(resolve));
  }
  throw new Error('the ban was not stored in time');
}

it('When a room stored with its members in the document meets this version, then startup moves them into room_members with the creator as owner', async () => {
  const [creator, bob] = [h.newUser('creator'), h.newUser('bob')];
  const at = new Date();
  const id = 'aaaaaaaaaaaaaaaaaaaaaaaa'.replace(/a{6}$/, Date.now().toString(16).slice(-6));
  await h.db.collection('conversations').insertOne({
    _id: id as never,
    kind: 'room',
    name: 'old',
    isPrivate: false,
    members: [
      { id: bob.id, username: bob.username },
      { id: creator.id, username: creator.username },
    ],
    memberIds: [bob.id, creator.id],
    lastSeq: 0,
    lastMessageAt: at,
    createdAt: at,
    updatedAt: at,
    createdBy: creator.id,
    version: 3,
  });

  await h.app.services.ensureIndexes();
  await h.app.services.ensureIndexes(); // twice, as two instances starting would

  const room = (await api().get(`/chat/rooms/${id}`).set(bearer(bob)).expect(200)).body
    .conversation as Conversation;
  expect(roles(room)).toEqual({ [creator.username]: 'owner', [bob.username]: 'member' });
  const stored = await h.db.collection('conversations').findOne({ _id: id as never });
  expect(stored).toMatchObject({ memberCount: 2, memberVersion: 1, version: 4 });
  expect(stored).not.toHaveProperty('memberIds');
  expect((await send(bob, id, 'still works')).status).toBe(201);
});

/** The commands the app sends to MongoDB while `work` runs, as "<command> <collection>". */
async function commandsDuring(work: () => Promise<unknown>): Promise<string[]> {
  const seen: string[] = [];
  const listener = (event: { commandName: string; command: Record<string, unknown> }) => {
    const target = String(event.command[event.commandName]);
    if (target !== 'rate_limit_slices') seen.push(`${event.commandName} ${target}`);
  };
  h.mongo.on('commandStarted', listener);
  try {
    await work();
  } finally {
    h.mongo.off('commandStarted', listener);
  }
  return seen;
}

it('When members send to a 30-member room, then no send reads the member list until a membership change, and the first send after it reads it once', async () => {
  // no copy of the room's document is reused: every send reads it (a small document)
  const uncached = await h.startInstance({ conversationCacheTtlMs: 0 });
  const owner = h.newUser('owner');
  const others = Array.from({ length: 29 }, (_, i) => h.newUser(`m${i}`));
  const room = await roomOf(owner, others);
  await send(owner, room.id, 'warm up', uncached);

  const steady = await commandsDuring(async () => {
    for (let i = 0; i < 5; i++)
      expect((await send(owner, room.id, `n${i}`, uncached)).status).toBe(201);
  });
  await api(uncached).post(`/chat/rooms/${room.id}/leave`).set(bearer(others[0]!)).expect(200);
  const afterChange = await commandsDuring(async () => {
    for (let i = 0; i < 2; i++)
      expect((await send(owner, room.id, `c${i}`, uncached)).status).toBe(201);
  });

  expect(steady.filter((c) => c.endsWith(' room_members'))).toEqual([]);
  expect(steady.filter((c) => c === 'find conversations')).toHaveLength(5);
  expect(afterChange.filter((c) => c.endsWith(' room_members'))).toEqual(['find room_members']);
  const event = await h.events.waitFor('new_message', (e) => e.data.message.text === 'c1');
  expect(event.recipients).toHaveLength(29);
  expect(event.recipients).not.toContain(others[0]!.id);
});

it('When another feature asks requireRoomRole, then it answers the role or the same errors as the routes', async () => {
  const [owner, bob, eve] = [h.newUser('owner'), h.newUser('bob'), h.newUser('eve')];
  const room = await roomOf(owner, [bob], true);
  const services = h.app.services;

  expect(await requireRoomRole(services, room.id, owner.id, 'admin')).toBe('owner');
  await expect(requireRoomRole(services, room.id, bob.id, 'admin')).rejects.toMatchObject({
    code: 'forbidden',
  });
  await expect(requireRoomRole(services, room.id, eve.id, 'member')).rejects.toMatchObject({
    code: 'conversation_not_found',
  });
});
