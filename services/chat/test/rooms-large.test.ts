// Rooms past ROOM_MEMBERS_INLINE_MAX (3 here): conversation payloads — events and
// answers alike — carry a bounded member list with membersComplete: false and the exact
// memberCount, conversation_updated says what changed (memberChange), and
// GET /chat/rooms/:id/members pages every member once, by user id (docs/design.md §4.2).
import {
  conversationResponseSchema,
  conversationsResponseSchema,
  problemSchema,
  roomMembersResponseSchema,
  type Conversation,
  type RoomMembersResponse,
} from '@parley/contracts';
import request from 'supertest';
import { bearer, useChatHarness, type TestUser } from './support/chat-harness';

const INLINE_MAX = 3;
const h = useChatHarness({ roomMembersInlineMax: INLINE_MAX });

const api = () => request(h.app.url);

async function createRoom(owner: TestUser, body: Record<string, unknown>): Promise<Conversation> {
  const res = await api().post('/chat/rooms').set(bearer(owner)).send(body);
  expect(res.status).toBe(201);
  return conversationResponseSchema.parse(res.body).conversation;
}

/** An owner and `others` members, the room created with all of them. */
async function bigRoom(others: number, isPrivate = false) {
  const owner = h.newUser('owner');
  const members = Array.from({ length: others }, (_, i) => h.newUser(`m${i}`));
  const room = await createRoom(owner, {
    name: 'crowd',
    isPrivate,
    members: members.map((m) => m.username),
  });
  return { owner, members, room };
}

type Update = Awaited<ReturnType<typeof h.events.waitFor<'conversation_updated'>>>;

async function roomUpdate(roomId: string, match: (e: Update['data']) => boolean) {
  return h.events.waitFor(
    'conversation_updated',
    (e) => e.data.conversation.id === roomId && match(e.data),
  );
}

const idsOf = (list: readonly { id: string }[]) => list.map((m) => m.id);

it('When a room has more members than the inline bound, then its answer and event list the caller and the owners only, flagged partial, with the exact count', async () => {
  const { owner, members, room } = await bigRoom(5);

  expect(room).toMatchObject({ memberCount: 6, membersComplete: false });
  expect(idsOf(room.members)).toEqual([owner.id]);
  const created = await roomUpdate(room.id, () => true);
  expect(created.recipients.sort()).toEqual([owner.id, ...idsOf(members)].sort());
  expect(created.data.conversation).toMatchObject({ memberCount: 6, membersComplete: false });
  expect(idsOf(created.data.conversation.members)).toEqual([owner.id]);
  expect(created.data.memberChange).toBeUndefined();

  // a plain member asking sees themselves first, then the owner
  const got = await api().get(`/chat/rooms/${room.id}`).set(bearer(members[2]!));
  const seen = conversationResponseSchema.parse(got.body).conversation;
  expect(idsOf(seen.members)).toEqual([members[2]!.id, owner.id]);
  expect(seen).toMatchObject({ memberCount: 6, membersComplete: false });

  const list = await api().get('/chat/conversations').set(bearer(members[0]!));
  const summary = conversationsResponseSchema
    .parse(list.body)
    .conversations.find((c) => c.id === room.id);
  expect(summary).toMatchObject({ memberCount: 6, membersComplete: false });
  expect(idsOf(summary!.members)).toEqual([members[0]!.id, owner.id]);
});

it('When members join, leave and change role in a large room, then each event names the change and lists who it is about, never more than the bound', async () => {
  const { owner, members, room } = await bigRoom(4);
  const [a, b, c] = members as [TestUser, TestUser, TestUser];

  for (const admin of [a, b]) {
    const res = await api()
      .put(`/chat/rooms/${room.id}/roles/${admin.username}`)
      .set(bearer(owner))
      .send({ role: 'admin' });
    expect(res.status).toBe(200);
  }
  const promoted = await roomUpdate(room.id, (d) =>
    (d.memberChange?.roleChanged ?? []).some((m) => m.id === b.id),
  );
  expect(promoted.data.memberChange).toEqual({
    roleChanged: [{ id: b.id, username: b.username, role: 'admin' }],
  });
  // the user the change is about first, then owners, then admins
  expect(idsOf(promoted.data.conversation.members)).toEqual([b.id, owner.id, a.id]);

  const joiner = h.newUser('joiner');
  const join = await api().post(`/chat/rooms/${room.id}/join`).set(bearer(joiner));
  expect(join.status).toBe(200);
  const joined = await roomUpdate(room.id, (d) => d.memberChange?.added !== undefined);
  expect(joined.data.memberChange).toEqual({
    added: [{ id: joiner.id, username: joiner.username, role: 'member' }],
  });
  expect(joined.recipients).toHaveLength(6);
  expect(joined.data.conversation.memberCount).toBe(6);
  expect(joined.data.conversation.membersComplete).toBe(false);
  // bounded: the joiner, the owner, one of the two admins
  expect(idsOf(joined.data.conversation.members)).toEqual([joiner.id, owner.id, a.id]);

  const leave = await api().post(`/chat/rooms/${room.id}/leave`).set(bearer(c));
  expect(leave.status).toBe(200);
  const left = await roomUpdate(room.id, (d) => d.memberChange?.removed !== undefined);
  expect(left.data.conversation.memberCount).toBe(5);
  expect(left.data.memberChange).toEqual({ removed: [{ id: c.id, username: c.username }] });
  expect(left.recipients).toContain(c.id);
  expect(idsOf(left.data.conversation.members)).not.toContain(c.id);
  expect(idsOf(left.data.conversation.members)).toHaveLength(INLINE_MAX);
});

it('When a room is at the inline bound, then it lists every member and carries no flag', async () => {
  const owner = h.newUser('owner');
  const [a, b] = [h.newUser('a'), h.newUser('b')];
  const room = await createRoom(owner, { name: 'small', members: [a.username, b.username] });

  expect(room.memberCount).toBe(INLINE_MAX);
  expect(idsOf(room.members).sort()).toEqual([owner.id, a.id, b.id].sort());
  expect(room).not.toHaveProperty('membersComplete');
  const created = await roomUpdate(room.id, () => true);
  expect(created.data.conversation).toEqual(room);
});

async function allPages(
  user: TestUser,
  roomId: string,
  limit: number,
): Promise<RoomMembersResponse[]> {
  const pages: RoomMembersResponse[] = [];
  let after: string | undefined;
  do {
    const res = await api()
      .get(`/chat/rooms/${roomId}/members`)
      .query({ limit, ...(after ? { after } : {}) })
      .set(bearer(user));
    expect(res.status).toBe(200);
    const page = roomMembersResponseSchema.parse(res.body);
    pages.push(page);
    after = page.nextCursor;
  } while (after !== undefined && pages.length < 20);
  return pages;
}

it('When the members of a large room are paged, then every member comes exactly once with their role, ordered by id, the same on every pass', async () => {
  const { owner, members, room } = await bigRoom(6);
  const everyone = [owner, ...members];

  const pages = await allPages(members[3]!, room.id, 3);
  const again = await allPages(owner, room.id, 3);

  expect(pages.map((p) => p.members.length)).toEqual([3, 3, 1]);
  expect(pages.at(-1)!.nextCursor).toBeUndefined();
  const listed = pages.flatMap((p) => p.members);
  expect(idsOf(listed)).toEqual(idsOf(everyone).sort());
  expect(listed.find((m) => m.id === owner.id)).toEqual({
    id: owner.id,
    username: owner.username,
    role: 'owner',
  });
  expect(listed.filter((m) => m.role === 'member')).toHaveLength(6);
  expect(again).toEqual(pages);

  // the default page holds them all; a page that ends exactly at the last has no cursor
  const whole = roomMembersResponseSchema.parse(
    (await api().get(`/chat/rooms/${room.id}/members`).set(bearer(owner))).body,
  );
  expect(whole.members).toEqual(listed);
  expect(whole.nextCursor).toBeUndefined();
  const exact = await allPages(owner, room.id, 7);
  expect(exact.map((p) => p.members.length)).toEqual([7]);
});

it('When a page of a large room is read, then no read of room_members asks for more rows than the page answers', async () => {
  const { members, room } = await bigRoom(8);
  const outsider = h.newUser('outsider');
  const reads: Array<{ filter: unknown; limit: unknown }> = [];
  const listener = (event: { commandName: string; command: Record<string, unknown> }) => {
    if (event.commandName === 'find' && event.command.find === 'room_members') {
      reads.push({ filter: event.command.filter, limit: event.command.limit });
    }
  };
  h.mongo.on('commandStarted', listener);
  try {
    for (const user of [members[0]!, outsider]) {
      const res = await api().get(`/chat/rooms/${room.id}/members?limit=2`).set(bearer(user));
      expect(res.status).toBe(200);
    }
  } finally {
    h.mongo.off('commandStarted', listener);
  }

  expect(reads.length).toBeGreaterThan(0);
  for (const read of reads) expect(read.limit).toBeLessThanOrEqual(3);
});

it('When a member leaves between two pages, then the others still come exactly once', async () => {
  const { owner, members, room } = await bigRoom(5);
  const sorted = [owner, ...members].sort((x, y) => (x.id < y.id ? -1 : 1));

  const first = roomMembersResponseSchema.parse(
    (await api().get(`/chat/rooms/${room.id}/members?limit=3`).set(bearer(owner))).body,
  );
  const goer = sorted.find((u) => u !== owner && !idsOf(first.members).includes(u.id))!;
  expect((await api().post(`/chat/rooms/${room.id}/leave`).set(bearer(goer))).status).toBe(200);
  const rest = await api()
    .get(`/chat/rooms/${room.id}/members`)
    .query({ after: first.nextCursor })
    .set(bearer(owner));

  const seen = [...first.members, ...roomMembersResponseSchema.parse(rest.body).members];
  expect(idsOf(seen)).toEqual(idsOf(sorted.filter((u) => u !== goer)));
});

it('When someone outside pages the members, then a public room answers and a private room, a direct conversation or an unknown id is the same 404', async () => {
  const { room: open } = await bigRoom(4);
  const { room: secret } = await bigRoom(4, true);
  const [outsider, peer] = [h.newUser('outsider'), h.newUser('peer')];
  const dm = await api()
    .post('/chat/send')
    .set(bearer(outsider))
    .send({ to: peer.username, text: 'hi' });
  const directId = dm.body.message.conversationId as string;

  const pub = await api().get(`/chat/rooms/${open.id}/members`).set(bearer(outsider));
  expect(pub.status).toBe(200);
  expect(roomMembersResponseSchema.parse(pub.body).members).toHaveLength(5);

  const refused = await Promise.all(
    [secret.id, directId, 'ffffffffffffffffffffffff'].map((id) =>
      api().get(`/chat/rooms/${id}/members`).set(bearer(outsider)),
    ),
  );
  const bodies = refused.map((res) => {
    const problem = problemSchema.parse(res.body);
    return [res.status, problem.code, problem.title, problem.detail];
  });
  expect(bodies[0]).toEqual([
    404,
    'conversation_not_found',
    expect.any(String),
    expect.any(String),
  ]);
  expect(bodies[1]).toEqual(bodies[0]);
  expect(bodies[2]).toEqual(bodies[0]);
});

it('When the page size or cursor is out of range, then 400 validation_failed', async () => {
  const { owner, room } = await bigRoom(4);
  for (const query of ['limit=0', 'limit=501', 'limit=abc', `after=${'x'.repeat(129)}`]) {
    const res = await api().get(`/chat/rooms/${room.id}/members?${query}`).set(bearer(owner));
    expect([query, res.status, res.body.code]).toEqual([query, 400, 'validation_failed']);
  }
});
