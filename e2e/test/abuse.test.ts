// One hostile account against the three real service processes with their default
// limits (docs/design.md §4.14, docs/security.md): the attacker probes direct conversation and
// message ids, floods reactions, typing, room creations and resumes, and tracks a
// stranger's presence. Each attack is bounded in count and time and stays on loopback;
// each test checks what the attacker gets (404, 409, 429, `unknown`) and that the
// victims are unaffected: their sends are still 201 and their sockets stay open.
import type { Message } from '@parley/contracts';
import {
  createUsers,
  openRawSocket,
  tokenOf,
  useStack,
  waitFor,
  type RawSocket,
  type TestUser,
} from '@parley/testing';

const e2e = useStack({ name: 'abuse' });

let alice: TestUser;
let bob: TestUser;
let mallory: TestUser; // the attacker: one ordinary account
let dm: Message; // alice ↔ bob
let aliceSocket: RawSocket;
let bobSocket: RawSocket;

async function call(user: TestUser, method: string, path: string, body?: unknown) {
  const res = await fetch(`${e2e.stack.chatUrl}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${tokenOf(user)}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return {
    status: res.status,
    retryAfter: res.headers.get('retry-after'),
    body: (text ? JSON.parse(text) : undefined) as Record<string, unknown> | undefined,
  };
}

/** The victims can still talk: a send each way is 201 and arrives on the other's socket. */
async function victimsUnaffected(label: string): Promise<void> {
  const sent = await call(alice, 'POST', '/chat/send', {
    to: bob.username,
    text: `after ${label}`,
  });
  expect(sent.status).toBe(201);
  const id = (sent.body?.['message'] as Message).id;
  await waitFor(() => bobSocket.frames.some((f) => f.type === 'message' && f.message.id === id), {
    description: `bob gets alice's message ${label}`,
  });
  for (const socket of [aliceSocket, bobSocket]) expect(socket.ws.readyState).toBe(socket.ws.OPEN);
}

beforeAll(async () => {
  [alice, bob, mallory] = (await createUsers(e2e.stack, ['alice', 'bob', 'mallory'])) as [
    TestUser,
    TestUser,
    TestUser,
  ];
  dm = await alice.client.send({ to: bob.username, text: 'just between us' });
  aliceSocket = await openRawSocket(e2e.stack.websocketUrls[0]!, tokenOf(alice));
  bobSocket = await openRawSocket(e2e.stack.websocketUrls[0]!, tokenOf(bob));
}, 30_000);
afterAll(async () => {
  await Promise.all([aliceSocket?.close(), bobSocket?.close()]);
});

test('When the attacker probes a direct conversation id and a message id of others, then every answer is the one a made-up id gets', async () => {
  const made = `d_${'0'.repeat(24)}_${'f'.repeat(24)}`;
  const probes = async (conversationId: string, messageId: string) => [
    await call(mallory, 'GET', `/chat/history?conversationId=${conversationId}`),
    await call(mallory, 'POST', `/chat/conversations/${conversationId}/read`, { seq: 1 }),
    await call(mallory, 'POST', '/chat/typing', { conversationId, isTyping: true }),
    await call(mallory, 'PATCH', `/chat/messages/${messageId}`, { text: 'x' }),
    await call(mallory, 'POST', `/chat/messages/${messageId}/reactions`, { emoji: '👀' }),
    await call(mallory, 'GET', `/chat/messages/${messageId}/replies`),
  ];
  const strip = (answers: Awaited<ReturnType<typeof probes>>) =>
    answers.map(({ status, body }) => {
      const { instance: _instance, ...rest } = body ?? {};
      return { status, ...rest };
    });

  const real = strip(await probes(dm.conversationId, dm.id));
  const fake = strip(await probes(made, '0123456789abcdef01234567'));

  expect(real).toEqual(fake);
  expect(real.map((a) => a['status'])).toEqual([404, 404, 404, 404, 404, 404]);
  // over the socket too: resume names both, and both come back as not found
  const socket = await openRawSocket(e2e.stack.websocketUrls[0]!, tokenOf(mallory));
  socket.sendJson({
    type: 'resume',
    ref: 'probe',
    conversations: { [dm.conversationId]: 0, [made]: 0 },
  });
  expect(await socket.next('resumed')).toEqual({
    type: 'resumed',
    complete: true,
    ref: 'probe',
    notFound: [dm.conversationId, made],
  });
  expect(socket.frames.some((f) => f.type === 'message')).toBe(false);
  await socket.close();
  await victimsUnaffected('probing');
});

test('When the attacker floods reactions on a room message, then the caps and the limit stop it and members get one small frame per change', async () => {
  const room = await alice.client.createRoom({
    name: 'open house',
    members: [bob.username, mallory.username],
  });
  const target = await alice.client.send({ conversationId: room.id, text: 'react to me' });
  const before = bobSocket.frames.length;

  const answers = [];
  for (let i = 0; i < 80; i++)
    answers.push(
      await call(mallory, 'POST', `/chat/messages/${target.id}/reactions`, {
        emoji: `:flood${i}:`,
      }),
    );

  const statuses = answers.map((a) => a.status);
  expect(statuses.slice(0, 20)).toEqual(Array(20).fill(200));
  expect(new Set(statuses.slice(20))).toEqual(new Set([409, 429]));
  expect(
    answers
      .slice(20)
      .every((a) => ['too_many_reactions', 'rate_limited'].includes(String(a.body?.['code']))),
  ).toBe(true);
  await waitFor(
    () => bobSocket.frames.slice(before).filter((f) => f.type === 'reaction').length >= 20,
  );
  const frames = bobSocket.frames.slice(before).filter((f) => f.type === 'reaction');
  expect(frames).toHaveLength(20);
  expect(Math.max(...frames.map((f) => JSON.stringify(f).length))).toBeLessThan(300);
  await victimsUnaffected('the reaction flood');
});

test('When the attacker floods typing into a room, then the others get at most one typing event per 2 s and nobody is closed', async () => {
  const room = await alice.client.createRoom({
    name: 'typing',
    members: [bob.username, mallory.username],
  });
  const attacker = await openRawSocket(e2e.stack.websocketUrls[0]!, tokenOf(mallory));
  const before = bobSocket.frames.length;
  const started = Date.now();

  for (let i = 0; i < 40; i++) {
    attacker.sendJson({ type: 'typing', conversationId: room.id, isTyping: true });
    await new Promise((resolve) => setTimeout(resolve, 25)); // 40 frames in about a second
  }
  await new Promise((resolve) => setTimeout(resolve, 500));
  const elapsed = Date.now() - started;

  const typing = bobSocket.frames.slice(before).filter((f) => f.type === 'typing');
  expect(typing.length).toBeGreaterThanOrEqual(1);
  expect(typing.length).toBeLessThanOrEqual(Math.ceil(elapsed / 2_000));
  expect(attacker.frames.some((f) => f.type === 'error')).toBe(false);
  expect(attacker.ws.readyState).toBe(attacker.ws.OPEN);
  await attacker.close();
  await victimsUnaffected('the typing flood');
});

test('When the attacker creates rooms in a row pulling strangers in, then creations and invitations stop at their limits', async () => {
  const [x, y] = (await createUsers(e2e.stack, ['stranger', 'stranger'])) as [TestUser, TestUser];
  const answers = [];
  for (let i = 0; i < 60; i++)
    answers.push(
      await call(mallory, 'POST', '/chat/rooms', {
        name: `spam ${i}`,
        members: [x.username, y.username],
      }),
    );

  const created = answers.filter((a) => a.status === 201).length;
  const refused = answers.filter((a) => a.status === 429);
  // 100 invitations an hour: two per room, so at most 50 rooms (and the room limit, 20, first)
  expect(created).toBeLessThanOrEqual(20);
  expect(refused.length).toBe(60 - created);
  expect(
    refused.every((a) => a.body?.['code'] === 'rate_limited' && Number(a.retryAfter) >= 1),
  ).toBe(true);
  const strangersRooms = await x.client.conversations({ limit: 100 });
  expect(strangersRooms.conversations.length).toBe(created);
  await victimsUnaffected('the room flood');
});

test('When the attacker sends resumes naming 1,000 and 100 made-up conversations, then one answer each and never one per conversation', async () => {
  const socket = await openRawSocket(e2e.stack.websocketUrls[0]!, tokenOf(mallory));
  const thousand = Object.fromEntries(Array.from({ length: 1_000 }, (_, i) => [`d_fake_${i}`, 0]));
  const hundred = Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`d_fake_${i}`, 0]));

  socket.sendJson({ type: 'resume', ref: 'too-big', conversations: thousand });
  expect(await socket.next('error')).toMatchObject({ code: 'validation_failed' });
  socket.sendJson({ type: 'resume', ref: 'r1', conversations: hundred });
  socket.sendJson({ type: 'resume', ref: 'r2', conversations: hundred });
  await socket.next('resumed');
  await new Promise((resolve) => setTimeout(resolve, 500));

  // each frame is answered once: a resumed listing the 100 as not found, or — when it
  // came while the other was still running — error rate_limited with its ref; never
  // an error per conversation (the component test holds the first one open to prove
  // the second is refused)
  const answers = socket.frames.flatMap((f) =>
    (f.type === 'resumed' || f.type === 'error') && f.ref !== undefined ? [f] : [],
  );
  expect(answers.map((f) => f.ref).sort()).toEqual(['r1', 'r2']);
  for (const answer of answers) {
    if (answer.type === 'resumed') expect(answer.notFound).toHaveLength(100);
    else expect(answer.code).toBe('rate_limited');
  }
  expect(socket.frames.filter((f) => f.type === 'error')).toHaveLength(
    1 + answers.filter((f) => f.type === 'error').length,
  );
  expect(socket.ws.readyState).toBe(socket.ws.OPEN);
  await socket.close();
  await victimsUnaffected('the resume flood');
});

test('When the attacker subscribes to the presence of a stranger, then it is unknown and stays so while the stranger comes and goes', async () => {
  const [stranger] = (await createUsers(e2e.stack, ['carol'])) as [TestUser];
  const socket = await openRawSocket(e2e.stack.websocketUrls[0]!, tokenOf(mallory));
  socket.sendJson({ type: 'presence_subscribe', userIds: [stranger.user.id, alice.user.id] });
  const answers = [await socket.next('presence'), await socket.next('presence')];

  const online = await openRawSocket(e2e.stack.websocketUrls[0]!, tokenOf(stranger));
  await online.close();
  await new Promise((resolve) => setTimeout(resolve, 2_500)); // past the offline grace

  // mallory shares rooms with alice (the reaction and typing rooms): her presence is fine
  expect(answers).toEqual([
    { type: 'presence', userId: stranger.user.id, status: 'unknown' },
    { type: 'presence', userId: alice.user.id, status: 'online' },
  ]);
  expect(socket.frames.filter((f) => f.type === 'presence')).toHaveLength(2);
  expect(await mallory.client.presence([stranger.user.id])).toEqual([
    { userId: stranger.user.id, status: 'unknown' },
  ]);
  await socket.close();
  await victimsUnaffected('presence tracking');
});

test('When the attacker sends as fast as it can, then past 60 it gets 429 and the victims still send', async () => {
  const answers = await Promise.all(
    Array.from({ length: 80 }, (_, i) =>
      call(mallory, 'POST', '/chat/send', { to: alice.username, text: `spam ${i}` }),
    ),
  );
  const statuses = answers.map((a) => a.status);
  expect(statuses.filter((s) => s === 201).length).toBeLessThanOrEqual(60);
  expect(statuses.filter((s) => s === 429)).toHaveLength(20);
  await victimsUnaffected('the send flood');
  expect([aliceSocket, bobSocket].map((s) => s.frames.some((f) => f.type === 'error'))).toEqual([
    false,
    false,
  ]);
});
