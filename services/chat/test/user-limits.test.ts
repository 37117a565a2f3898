// docs/design.md §4.14 in chat: per-user limits that hold across two instances over one
// database (429 rate_limited with Retry-After), room moderation among them, typing
// dropped past one per 2 s, the
// send limit ahead of the shared admission gate, the reaction caps and the room member
// cap, and POST /chat/sync and /chat/contacts answering in one membership query.
import { problemSchema } from '@parley/contracts';
import { waitFor } from '@parley/testing';
import request from 'supertest';
import { bearer, useChatHarness, type ChatInstance, type TestUser } from './support/chat-harness';

const h = useChatHarness();
let a: ChatInstance;
let b: ChatInstance;
const SYNC_MS = 50;

beforeAll(async () => {
  // two instances over one database, with small limits
  const limits = {
    edit: { points: 3, windowMs: 60_000 },
    reaction: { points: 30, windowMs: 60_000 },
    roomCreate: { points: 2, windowMs: 3_600_000 },
    invite: { points: 3, windowMs: 3_600_000 },
    moderation: { points: 3, windowMs: 60_000 },
    membership: { points: 4, windowMs: 3_600_000 },
    history: { points: 4, windowMs: 60_000 },
    listing: { points: 4, windowMs: 60_000 },
    sync: { points: 2, windowMs: 60_000 },
    send: { points: 4, windowMs: 60_000 },
    typingIntervalMs: 2_000,
  };
  a = await h.startInstance({ limits, rateLimitSyncIntervalMs: SYNC_MS, roomMaxMembers: 4 });
  b = await h.startInstance({ limits, rateLimitSyncIntervalMs: SYNC_MS, roomMaxMembers: 4 });
});

/**
 * Both instances have written what they admitted and read back the other's: each sync
 * is awaited (a timer's sync already under way may have begun before the last request,
 * so each instance syncs twice), a then b then a, so the counts meet in MongoDB whatever
 * the machine's load. The timers keep running, as in production.
 */
async function synced(): Promise<void> {
  for (const instance of [a, b, a]) {
    await instance.services.rateLimiter.sync();
    await instance.services.rateLimiter.sync();
  }
}

function expectLimited(res: request.Response): void {
  if (res.status !== 429) throw new Error(`expected 429, got ${res.status} ${res.text}`);
  expect([res.status, problemSchema.parse(res.body).code]).toEqual([429, 'rate_limited']);
  expect(Number(res.headers['retry-after'])).toBeGreaterThanOrEqual(1);
}

/** Calls alternate between the two instances, with a sync in between. */
async function alternate(
  count: number,
  call: (instance: ChatInstance, i: number) => Promise<request.Response>,
): Promise<request.Response[]> {
  const answers: request.Response[] = [];
  for (let i = 0; i < count; i++) {
    answers.push(await call(i % 2 === 0 ? a : b, i));
    await synced();
  }
  return answers;
}

async function dm(from: TestUser, to: TestUser, on = a): Promise<string> {
  const res = await request(on.url)
    .post('/chat/send')
    .set(bearer(from))
    .send({ to: to.username, text: 'hi' });
  return res.body.message.conversationId as string;
}

it('When a user sends through both instances, then the fifth send is 429 with Retry-After and the other user still sends', async () => {
  const [alice, bob] = [h.newUser('alice'), h.newUser('bob')];
  const answers = await alternate(5, (on, i) =>
    request(on.url)
      .post('/chat/send')
      .set(bearer(alice))
      .send({ to: bob.username, text: `m${i}` }),
  );
  expect(answers.slice(0, 4).map((r) => r.status)).toEqual([201, 201, 201, 201]);
  expectLimited(answers[4]!);
  const reply = await request(b.url)
    .post('/chat/send')
    .set(bearer(bob))
    .send({ to: alice.username, text: 'still here' });
  expect(reply.status).toBe(201);
});

it('When a user edits, reads history, lists or syncs through both instances, then each past its limit is 429', async () => {
  const [alice, bob] = [h.newUser('alice'), h.newUser('bob')];
  const conversationId = await dm(alice, bob);
  const sent = await request(a.url)
    .post('/chat/send')
    .set(bearer(alice))
    .send({ conversationId, text: 'edit me' });
  const messageId = sent.body.message.id as string;

  const edits = await alternate(4, (on, i) =>
    request(on.url)
      .patch(`/chat/messages/${messageId}`)
      .set(bearer(alice))
      .send({ text: `v${i}` }),
  );
  const reads = await alternate(5, (on) =>
    request(on.url).get('/chat/history').query({ conversationId }).set(bearer(alice)),
  );
  const lists = await alternate(5, (on) =>
    request(on.url).get('/chat/conversations').set(bearer(alice)),
  );
  const syncs = await alternate(3, (on) =>
    request(on.url)
      .post('/chat/sync')
      .set(bearer(alice))
      .send({ conversations: { [conversationId]: 0 } }),
  );

  expect(edits.slice(0, 3).map((r) => r.status)).toEqual([200, 200, 200]);
  expectLimited(edits[3]!);
  expect(reads.slice(0, 4).map((r) => r.status)).toEqual([200, 200, 200, 200]);
  expectLimited(reads[4]!);
  expect(lists.slice(0, 4).map((r) => r.status)).toEqual([200, 200, 200, 200]);
  expectLimited(lists[4]!);
  expect(syncs.slice(0, 2).map((r) => r.status)).toEqual([200, 200]);
  expectLimited(syncs[2]!);
});

it("When a user pages a room's members through both instances, then the reads count under the listing limit with the room's own reads", async () => {
  const [owner, reader] = [h.newUser('owner'), h.newUser('reader')];
  const created = await request(a.url).post('/chat/rooms').set(bearer(owner)).send({ name: 'big' });
  const roomId = created.body.conversation.id as string;

  const reads = await alternate(5, (on, i) =>
    request(on.url)
      .get(i % 2 === 0 ? `/chat/rooms/${roomId}/members` : `/chat/rooms/${roomId}`)
      .set(bearer(reader)),
  );

  expect(reads.slice(0, 4).map((r) => r.status)).toEqual([200, 200, 200, 200]);
  expectLimited(reads[4]!);
  const other = await request(b.url).get(`/chat/rooms/${roomId}/members`).set(bearer(owner));
  expect(other.status).toBe(200);
});

it('When a user creates rooms pulling others in, then room creations and invitations are counted across instances', async () => {
  const creator = h.newUser('creator');
  const others = [h.newUser('x'), h.newUser('y'), h.newUser('z'), h.newUser('w')];

  // two members named: two invitations
  const first = await request(a.url)
    .post('/chat/rooms')
    .set(bearer(creator))
    .send({ name: 'one', members: [others[0]!.username, others[1]!.username] });
  await synced();
  // two more would pass the invitation limit (3): refused, and not counted as a room
  const second = await request(b.url)
    .post('/chat/rooms')
    .set(bearer(creator))
    .send({ name: 'two', members: [others[2]!.username, others[3]!.username] });
  const alone = await request(b.url).post('/chat/rooms').set(bearer(creator)).send({ name: 'two' });
  await synced();
  const invite = await request(a.url)
    .post(`/chat/rooms/${first.body.conversation.id}/members`)
    .set(bearer(creator))
    .send({ username: others[2]!.username });
  await synced();
  const inviteMore = await request(b.url)
    .post(`/chat/rooms/${first.body.conversation.id}/members`)
    .set(bearer(creator))
    .send({ username: others[3]!.username });
  const third = await request(a.url)
    .post('/chat/rooms')
    .set(bearer(creator))
    .send({ name: 'three' });

  expect(first.status).toBe(201);
  expectLimited(second);
  expect(alone.status).toBe(201);
  expect(invite.status).toBe(200);
  expectLimited(inviteMore);
  expectLimited(third);
});

it("When a room's owner moderates through both instances, then the fourth action is 429 and changes nothing, and an admin still moderates", async () => {
  const owner = h.newUser('owner');
  const [spammer, helper] = [h.newUser('spammer'), h.newUser('helper')];
  const room = await request(a.url).post('/chat/rooms').set(bearer(owner)).send({ name: 'mod' });
  const roomId = room.body.conversation.id as string;
  for (const user of [spammer, helper])
    expect((await request(a.url).post(`/chat/rooms/${roomId}/join`).set(bearer(user))).status).toBe(
      200,
    );
  const spam = await request(a.url)
    .post('/chat/send')
    .set(bearer(spammer))
    .send({ conversationId: roomId, text: 'spam' });
  await synced();
  const moderate = [
    (on: ChatInstance) =>
      request(on.url)
        .patch(`/chat/rooms/${roomId}`)
        .set(bearer(owner))
        .send({ description: 'calm' }),
    (on: ChatInstance) =>
      request(on.url)
        .put(`/chat/rooms/${roomId}/roles/${helper.username}`)
        .set(bearer(owner))
        .send({ role: 'admin' }),
    // a moderator's delete of someone else's message counts too
    (on: ChatInstance) =>
      request(on.url).delete(`/chat/messages/${spam.body.message.id}`).set(bearer(owner)),
  ];
  const allowed = await alternate(3, (on, i) => moderate[i]!(on));

  const refused = [
    await request(b.url)
      .post(`/chat/rooms/${roomId}/bans`)
      .set(bearer(owner))
      .send({ username: spammer.username }),
    await request(a.url)
      .delete(`/chat/rooms/${roomId}/members/${spammer.username}`)
      .set(bearer(owner)),
    await request(b.url)
      .put(`/chat/rooms/${roomId}/roles/${helper.username}`)
      .set(bearer(owner))
      .send({ role: 'member' }),
    await request(a.url).patch(`/chat/rooms/${roomId}`).set(bearer(owner)).send({ name: 'x' }),
    await request(b.url)
      .delete(`/chat/rooms/${roomId}/bans/${spammer.username}`)
      .set(bearer(owner)),
  ];
  const unchanged = await request(b.url).get(`/chat/rooms/${roomId}`).set(bearer(helper));
  const bansBefore = await request(b.url).get(`/chat/rooms/${roomId}/bans`).set(bearer(helper));
  // the limit is the owner's: the admin they made still bans
  const byHelper = await request(b.url)
    .post(`/chat/rooms/${roomId}/bans`)
    .set(bearer(helper))
    .send({ username: spammer.username });

  expect(allowed.map((r) => r.status)).toEqual([200, 200, 204]);
  for (const res of refused) expectLimited(res);
  expect(unchanged.body.conversation).toMatchObject({ name: 'mod', description: 'calm' });
  expect(
    (unchanged.body.conversation.members as { username: string; role: string }[])
      .map((m) => [m.username, m.role])
      .sort(),
  ).toEqual(
    [
      [owner.username, 'owner'],
      [spammer.username, 'member'],
      [helper.username, 'admin'],
    ].sort(),
  );
  expect(bansBefore.body).toEqual({ bans: [] });
  expect(byHelper.status).toBe(200);
  expect(byHelper.body.conversation.members.map((m: { id: string }) => m.id)).not.toContain(
    spammer.id,
  );
});

it('When a user keeps joining and leaving a public room through both instances, then the fifth is 429 and they stay out, while another user still joins', async () => {
  const [owner, member, cycler] = [h.newUser('owner'), h.newUser('member'), h.newUser('cycler')];
  const room = await request(a.url)
    .post('/chat/rooms')
    .set(bearer(owner))
    .send({ name: 'lobby', members: [member.username] });
  const roomId = room.body.conversation.id as string;
  const path = (i: number) => `/chat/rooms/${roomId}/${i % 2 === 0 ? 'join' : 'leave'}`;

  const allowed = await alternate(4, (on, i) => request(on.url).post(path(i)).set(bearer(cycler)));
  const refused = await request(b.url).post(path(4)).set(bearer(cycler));
  const after = await request(a.url).get(`/chat/rooms/${roomId}`).set(bearer(member));
  // other users are not held back by the cycler's limit
  const joiner = h.newUser('joiner');
  const otherJoin = await request(b.url).post(`/chat/rooms/${roomId}/join`).set(bearer(joiner));

  expect(allowed.map((r) => r.status)).toEqual([200, 200, 200, 200]);
  expectLimited(refused);
  expect(after.body.conversation.members.map((m: { id: string }) => m.id)).not.toContain(cycler.id);
  expect(otherJoin.status).toBe(200);
});

it('When a room owner registers and removes webhooks past the moderation limit, then 429 and nothing is stored', async () => {
  const owner = h.newUser('owner');
  const room = await request(a.url).post('/chat/rooms').set(bearer(owner)).send({ name: 'hooks' });
  const roomId = room.body.conversation.id as string;
  const register = (on: ChatInstance) =>
    request(on.url)
      .post(`/chat/rooms/${roomId}/webhooks`)
      .set(bearer(owner))
      .send({ url: 'https://93.184.215.14/hook', events: ['new_message'] });

  const allowed = await alternate(2, (on) => register(on));
  const removed = await request(a.url)
    .delete(`/chat/rooms/${roomId}/webhooks/${allowed[0]!.body.webhook.id}`)
    .set(bearer(owner));
  await synced();
  const refusedCreate = await register(b);
  const refusedDelete = await request(a.url)
    .delete(`/chat/rooms/${roomId}/webhooks/${allowed[1]!.body.webhook.id}`)
    .set(bearer(owner));

  expect([...allowed.map((r) => r.status), removed.status]).toEqual([201, 201, 204]);
  expectLimited(refusedCreate);
  expectLimited(refusedDelete);
  expect(
    (await h.db.collection('webhooks').find({ roomId }).toArray()).map((w) => String(w._id)),
  ).toEqual([allowed[1]!.body.webhook.id]);
});

it('When a member types 40 times in a second on both instances, then one typing event goes out; after 2 s the next one does', async () => {
  const [alice, bob] = [h.newUser('alice'), h.newUser('bob')];
  const conversationId = await dm(alice, bob);
  await synced();
  const typed = (on: ChatInstance) =>
    request(on.url)
      .post('/chat/typing')
      .set(bearer(alice))
      .send({ conversationId, isTyping: true });

  const first = await typed(a);
  await synced();
  const answers = [];
  for (let i = 0; i < 40; i++) answers.push((await typed(i % 2 === 0 ? b : a)).status);
  await new Promise((resolve) => setTimeout(resolve, 2_100));
  const later = await typed(b);

  expect(first.status).toBe(204);
  expect(answers.every((status) => status === 204)).toBe(true);
  expect(later.status).toBe(204);
  await waitFor(
    () =>
      h.events.ofType('typing').filter((e) => e.data.conversationId === conversationId).length >= 2,
  );
  await new Promise((resolve) => setTimeout(resolve, 200));
  expect(
    h.events.ofType('typing').filter((e) => e.data.conversationId === conversationId),
  ).toHaveLength(2);
});

it('When a flooding user fires sends past their limit at once, then the surplus is 429 before the admission gate, which another user still passes', async () => {
  const instance = await h.startInstance({
    limits: { send: { points: 1, windowMs: 60_000 } },
    sendLimits: { maxPending: 3 },
  });
  const [flooder, peer, victim, friend] = [
    h.newUser('flood'),
    h.newUser('peer'),
    h.newUser('victim'),
    h.newUser('friend'),
  ];
  const answers = await Promise.all(
    Array.from({ length: 30 }, (_, i) =>
      request(instance.url)
        .post('/chat/send')
        .set(bearer(flooder))
        .send({ to: peer.username, text: `flood ${i}` }),
    ),
  );
  const statuses = answers.map((r) => r.status);
  const victimSend = await request(instance.url)
    .post('/chat/send')
    .set(bearer(victim))
    .send({ to: friend.username, text: 'unaffected' });

  expect(statuses.filter((s) => s === 201)).toHaveLength(1);
  expect(statuses.filter((s) => s === 429)).toHaveLength(29);
  // none of the surplus took a place in the gate: nothing was shed as overloaded
  const metrics = await request(instance.metricsUrl).get('/metrics').expect(200);
  expect(metrics.text).not.toMatch(/chat_sends_shed_total\{reason="overloaded"\} [1-9]/);
  expect(victimSend.status).toBe(201);
});

it('When a user reacts to one message with more than 20 emoji, or a message gets more than 50, then 409 too_many_reactions', async () => {
  const owner = h.newUser('owner');
  const reactors = [h.newUser('r1'), h.newUser('r2'), h.newUser('r3')];
  const room = await request(a.url)
    .post('/chat/rooms')
    .set(bearer(owner))
    .send({ name: 'reactions' });
  const roomId = room.body.conversation.id as string;
  for (const user of reactors)
    await request(a.url).post(`/chat/rooms/${roomId}/join`).set(bearer(user));
  const sent = await request(a.url)
    .post('/chat/send')
    .set(bearer(owner))
    .send({ conversationId: roomId, text: 'react' });
  const messageId = sent.body.message.id as string;
  const react = (user: TestUser, emoji: string) =>
    request(a.url).post(`/chat/messages/${messageId}/reactions`).set(bearer(user)).send({ emoji });

  const byFirst = [];
  for (let i = 0; i < 21; i++) byFirst.push(await react(reactors[0]!, `:a${i}:`));
  for (let i = 0; i < 20; i++) await react(reactors[1]!, `:b${i}:`);
  for (let i = 0; i < 10; i++) await react(reactors[2]!, `:c${i}:`);
  const fiftyFirst = await react(reactors[2]!, ':c10:');
  const existing = await react(reactors[2]!, ':a0:');

  expect(byFirst.slice(0, 20).every((r) => r.status === 200)).toBe(true);
  expect([byFirst[20]!.status, byFirst[20]!.body.code]).toEqual([409, 'too_many_reactions']);
  expect([fiftyFirst.status, fiftyFirst.body.code]).toEqual([409, 'too_many_reactions']);
  // an emoji already on the message can still be added by someone under their own cap
  expect(existing.status).toBe(200);
  expect(Object.keys(existing.body.message.reactions)).toHaveLength(50);
});

it('When a room is at ROOM_MAX_MEMBERS, then joining, inviting and creating past it is 409 room_full', async () => {
  const owner = h.newUser('owner');
  const [m1, m2, m3, late, invited] = [1, 2, 3, 4, 5].map((i) => h.newUser(`m${i}`));
  const room = await request(b.url).post('/chat/rooms').set(bearer(owner)).send({ name: 'small' });
  const roomId = room.body.conversation.id as string;
  for (const user of [m1!, m2!, m3!])
    expect((await request(b.url).post(`/chat/rooms/${roomId}/join`).set(bearer(user))).status).toBe(
      200,
    );

  const join = await request(b.url).post(`/chat/rooms/${roomId}/join`).set(bearer(late!));
  const invite = await request(b.url)
    .post(`/chat/rooms/${roomId}/members`)
    .set(bearer(m1!))
    .send({ username: invited!.username });
  const tooBig = await request(b.url)
    .post('/chat/rooms')
    .set(bearer(h.newUser('big')))
    .send({ name: 'big', members: [m1!, m2!, m3!, late!].map((u) => u.username) });

  for (const res of [join, invite, tooBig])
    expect([res.status, res.body.code]).toEqual([409, 'room_full']);
});

it("When a user syncs their conversations with others' and made-up ids, then one membership query and one page read per own conversation answer it", async () => {
  const [alice, bob, carol] = [h.newUser('alice'), h.newUser('bob'), h.newUser('carol')];
  const mine = await dm(alice, bob, b);
  const theirs = await dm(bob, carol, b);
  const made = Object.fromEntries(Array.from({ length: 97 }, (_, i) => [`d_made_up_${i}`, 0]));
  const commands: string[] = [];
  const listener = (event: { commandName: string; command: Record<string, unknown> }) => {
    const target = String(event.command[event.commandName]);
    if (event.commandName === 'find') commands.push(target);
  };

  h.mongo.on('commandStarted', listener);
  const res = await request(b.url)
    .post('/chat/sync')
    .set(bearer(alice))
    .send({ conversations: { [theirs]: 0, [mine]: 0, ...made } });
  h.mongo.off('commandStarted', listener);

  expect(res.status).toBe(200);
  expect(res.body.conversations).toHaveLength(1);
  expect(res.body.conversations[0].conversation).toEqual({ id: mine, kind: 'direct' });
  expect(res.body.conversations[0].messages.map((m: { text: string }) => m.text)).toEqual(['hi']);
  expect(res.body.notFound).toEqual([theirs, ...Object.keys(made)]);
  expect(commands.filter((c) => c === 'conversations')).toHaveLength(1);
  expect(commands.filter((c) => c === 'messages')).toHaveLength(1);
});

it('When a user asks which users share a conversation with them, then only those come back (and themselves)', async () => {
  const [alice, bob, carol, stranger] = ['alice', 'bob', 'carol', 'eve'].map((n) => h.newUser(n));
  await dm(alice!, bob!);
  const room = await request(a.url)
    .post('/chat/rooms')
    .set(bearer(carol!))
    .send({ name: 'with alice', members: [alice!.username] });
  expect(room.status).toBe(201);

  const res = await request(b.url)
    .post('/chat/contacts')
    .set(bearer(alice!))
    .send({ userIds: [bob!.id, carol!.id, stranger!.id, alice!.id, 'nobody'] });

  expect(res.status).toBe(200);
  expect(res.body).toEqual({ userIds: [bob!.id, carol!.id, alice!.id] });
});
