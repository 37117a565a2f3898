// Load shedding on POST /chat/send (README "Overload"): bounded queues answer 503 with
// Retry-After at once, and a send nobody waits for any more is dropped before it
// touches MongoDB, leaving no message and no seq behind. Real MongoDB and RabbitMQ;
// a slow or stuck database is simulated with the store's beforeInsert hook.
import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { waitFor } from '@parley/testing';
import type { InsertAttempt } from '../src/messages/message-store';
import { bearer, useChatHarness, type ChatInstance, type TestUser } from './support/chat-harness';

const h = useChatHarness();

/** Inserts into `conversationId` wait until open() (a database that stopped answering). */
function stuckInserts() {
  let conversationId = '';
  let open = () => undefined as void;
  let opened = new Promise<void>((resolve) => (open = resolve));
  const state = {
    block(id: string) {
      conversationId = id;
      opened = new Promise<void>((resolve) => (open = resolve));
    },
    open: () => open(),
    async beforeInsert(attempt: InsertAttempt) {
      if (attempt.conversationId === conversationId) await opened;
    },
  };
  return state;
}

async function roomOf(instance: ChatInstance, owner: TestUser, others: TestUser[] = []) {
  const res = await request(instance.url)
    .post('/chat/rooms')
    .set(bearer(owner))
    .send({ name: 'busy room', members: others.map((u) => u.username) });
  expect(res.status).toBe(201);
  return res.body.conversation.id as string;
}

function send(instance: ChatInstance, user: TestUser, conversationId: string, text: string) {
  return request(instance.url)
    .post('/chat/send')
    .set(bearer(user))
    .send({ conversationId, text, clientMsgId: text });
}

async function stored(conversationId: string) {
  const docs = await h.db
    .collection('messages')
    .find({ conversationId })
    .sort({ seq: 1 })
    .toArray();
  return docs.map((d) => ({ seq: d['seq'] as number, text: d['text'] as string }));
}

/** chat_sends_shed_total for one reason, from /metrics. */
async function shed(instance: ChatInstance, reason: string): Promise<number> {
  const res = await request(instance.metricsUrl).get('/metrics');
  const found = res.text
    .split('\n')
    .find((l) => l.startsWith('chat_sends_shed_total{') && l.includes(`reason="${reason}"`));
  return found ? Number(found.split(' ').at(-1)) : 0;
}

/** The kit's answer at the request deadline (http-app.ts), as opposed to chat's own sheds. */
const DEADLINE_DETAIL = 'The request did not complete in time; try again';

const range = (n: number) => Array.from({ length: n }, (_, i) => i + 1);

it('When a conversation queue is full, then further sends answer 503 with Retry-After at once and nothing of them is stored', async () => {
  const stuck = stuckInserts();
  const instance = await h.startInstance({
    messageHooks: stuck,
    sendLimits: { maxQueuedPerConversation: 3 },
  });
  const user = h.newUser('full');
  const conversationId = await roomOf(instance, user);
  stuck.block(conversationId);

  // one write stuck in the database, two waiting behind it: the queue is full
  const inFlight = ['a1', 'a2', 'a3'].map((text) =>
    send(instance, user, conversationId, text).then((res) => res),
  );
  await waitFor(() => instance.services.sendQueue.queued === 3, { description: '3 queued' });

  const started = Date.now();
  const refused = await Promise.all(
    ['r1', 'r2', 'r3', 'r4'].map((text) => send(instance, user, conversationId, text)),
  );
  const refusedInMs = Date.now() - started;
  for (const res of refused) {
    expect(res.status).toBe(503);
    expect(res.body.code).toBe('dependency_unavailable');
    expect(res.headers['retry-after']).toBe('1');
  }
  // answered without waiting for the stuck write (which is still stuck)
  expect(refusedInMs).toBeLessThan(1_000);
  expect(instance.services.sendQueue.queued).toBe(3);
  // another conversation is not held up by this one's full queue
  const elsewhere = await roomOf(instance, user);
  expect((await send(instance, user, elsewhere, 'elsewhere')).status).toBe(201);

  stuck.open();
  const results = await Promise.all(inFlight);
  expect(results.map((r) => r.status)).toEqual([201, 201, 201]);
  // the three concurrent sends, in whatever order they arrived; none of the refused ones
  const history = await stored(conversationId);
  expect(history.map((m) => m.seq)).toEqual([1, 2, 3]);
  expect(history.map((m) => m.text).sort()).toEqual(['a1', 'a2', 'a3']);
  expect(await shed(instance, 'conversation_busy')).toBe(4);
  expect(instance.services.sendQueue.size).toBe(0);
  expect(instance.services.sendAdmission.pending).toBe(0);
});

it('When more sends arrive than the instance may work on at once, then the excess answers 503 at once before touching the database', async () => {
  const stuck = stuckInserts();
  const instance = await h.startInstance({ messageHooks: stuck, sendLimits: { maxPending: 2 } });
  const user = h.newUser('pending');
  const conversationId = await roomOf(instance, user);
  stuck.block(conversationId);

  const held = ['p1', 'p2'].map((text) =>
    send(instance, user, conversationId, text).then((r) => r),
  );
  await waitFor(() => instance.services.sendQueue.queued === 2, { description: '2 queued' });
  const refused = await send(instance, user, conversationId, 'p3');
  expect(refused.status).toBe(503);
  expect(refused.headers['retry-after']).toBe('1');
  expect(await shed(instance, 'overloaded')).toBe(1);

  stuck.open();
  expect((await Promise.all(held)).map((r) => r.status)).toEqual([201, 201]);
  expect((await send(instance, user, conversationId, 'p4')).status).toBe(201);
  const history = await stored(conversationId);
  expect(history.map((m) => m.seq)).toEqual([1, 2, 3]);
  expect(history.map((m) => m.text).sort()).toEqual(['p1', 'p2', 'p4']);
});

it('When a queued send outlives its request deadline, then it is never stored and its seq goes to the next send (no hole)', async () => {
  const stuck = stuckInserts();
  const instance = await h.startInstance({ messageHooks: stuck, requestDeadlineMs: 800 });
  const user = h.newUser('late');
  const conversationId = await roomOf(instance, user);
  stuck.block(conversationId);

  // "first" is in its write when the database stops; "queued" waits behind it
  const first = send(instance, user, conversationId, 'first').then((r) => r);
  await waitFor(() => instance.services.sendQueue.queued === 1, { description: 'first running' });
  const queued = send(instance, user, conversationId, 'queued').then((r) => r);
  await waitFor(() => instance.services.sendQueue.queued === 2, { description: 'queued' });

  // both requests are answered 503 at the deadline; the queued one leaves the queue then
  expect((await queued).status).toBe(503);
  expect((await first).status).toBe(503);
  await waitFor(() => instance.services.sendQueue.queued === 1, { description: 'queued dropped' });
  expect(await shed(instance, 'deadline')).toBe(1);

  // the write already under way completes (it was started: "done or not done")
  stuck.open();
  await waitFor(async () => (await stored(conversationId)).length === 1, {
    description: 'the started write',
  });
  const next = await send(instance, user, conversationId, 'next');
  expect(next.status).toBe(201);
  expect(next.body.message.seq).toBe(2);
  expect(await stored(conversationId)).toEqual([
    { seq: 1, text: 'first' },
    { seq: 2, text: 'next' },
  ]);
  // the client retrying "first" with its clientMsgId learns it was stored
  const retried = await send(instance, user, conversationId, 'first');
  expect(retried.status).toBe(200);
  expect(retried.body.message.seq).toBe(1);
  expect(instance.services.sendQueue.size).toBe(0);
});

it('When the client goes away while its send is queued, then the send is dropped and stores nothing', async () => {
  const stuck = stuckInserts();
  const instance = await h.startInstance({ messageHooks: stuck });
  const user = h.newUser('gone');
  const conversationId = await roomOf(instance, user);
  stuck.block(conversationId);

  const first = send(instance, user, conversationId, 'stays').then((r) => r);
  await waitFor(() => instance.services.sendQueue.queued === 1, { description: 'first running' });
  const controller = new AbortController();
  const abandoned = fetch(`${instance.url}/chat/send`, {
    method: 'POST',
    headers: { ...bearer(user), 'content-type': 'application/json' },
    body: JSON.stringify({ conversationId, text: 'abandoned' }),
    signal: controller.signal,
  }).catch((err: unknown) => err);
  await waitFor(() => instance.services.sendQueue.queued === 2, { description: 'queued' });
  controller.abort();
  await abandoned;
  await waitFor(() => instance.services.sendQueue.queued === 1, { description: 'dropped' });
  expect(await shed(instance, 'client_gone')).toBe(1);

  stuck.open();
  expect((await first).status).toBe(201);
  expect((await send(instance, user, conversationId, 'after')).body.message.seq).toBe(2);
  expect((await stored(conversationId)).map((m) => m.text)).toEqual(['stays', 'after']);
});

it('When a burst far above capacity hits two rooms, then every 201 is in history, no shed send is, and seqs stay 1..N', async () => {
  // a slow database: every insert takes a few milliseconds more
  const instance = await h.startInstance({
    messageHooks: {
      beforeInsert: () => new Promise((resolve) => setTimeout(resolve, 4)),
    },
    requestDeadlineMs: 1_500,
    sendLimits: { maxPending: 120, maxQueuedPerConversation: 40, minTimeLeftMs: 500 },
    // the per-user limit (429) is not what this is about
    limits: { send: { points: 0, windowMs: 10_000 } },
  });
  const users = [h.newUser('b1'), h.newUser('b2'), h.newUser('b3'), h.newUser('b4')];
  const rooms = [
    await roomOf(instance, users[0]!, users.slice(1)),
    await roomOf(instance, users[0]!, users.slice(1)),
  ];
  const burst = range(400).map((i) => ({
    user: users[i % users.length]!,
    room: rooms[i % rooms.length]!,
    text: `burst-${i}-${randomUUID()}`,
  }));

  const responses = await Promise.all(
    burst.map((s) => send(instance, s.user, s.room, s.text).then((res) => ({ ...s, res }))),
  );
  await waitFor(() => instance.services.sendAdmission.pending === 0, { description: 'idle' });

  const others = responses.filter((r) => r.res.status !== 201 && r.res.status !== 503);
  expect(others.map((r) => r.res.status)).toEqual([]);
  const created = responses.filter((r) => r.res.status === 201);
  const refused = responses.filter((r) => r.res.status === 503);
  expect(refused.length).toBeGreaterThan(0);
  for (const r of refused) expect(r.res.headers['retry-after']).toBe('1');
  // shed by chat: refused before the write, so certainly not stored
  const shedSends = refused.filter((r) => r.res.body.detail !== DEADLINE_DETAIL);
  // answered by the kit's deadline: not stored, unless the write was already under way;
  // then the client's retry with the same clientMsgId finds it (200), as for a lost answer
  const timedOut = refused.filter((r) => r.res.body.detail === DEADLINE_DETAIL);
  const reasons = await Promise.all(
    ['overloaded', 'conversation_busy', 'deadline', 'client_gone'].map(
      async (reason) => `${reason} ${await shed(instance, reason)}`,
    ),
  );
  process.stdout.write(
    `burst of 400: ${created.length} created, ${refused.length} refused, ` +
      `${timedOut.length} of them at the deadline (shed: ${reasons.join(', ')})\n`,
  );

  const storedTexts = new Map<string, number>();
  for (const room of rooms) {
    const history = await stored(room);
    expect(history.map((m) => m.seq)).toEqual(range(history.length));
    for (const m of history) storedTexts.set(m.text, m.seq);
  }
  for (const r of created) expect(storedTexts.get(r.text)).toBe(r.res.body.message.seq);
  for (const r of shedSends) expect(storedTexts.has(r.text)).toBe(false);
  for (const r of timedOut) {
    const retried = await send(instance, r.user, r.room, r.text);
    if (storedTexts.has(r.text)) {
      expect(retried.status).toBe(200);
      expect(retried.body.message.seq).toBe(storedTexts.get(r.text));
    } else {
      expect(retried.status).toBe(201);
    }
  }
  expect(instance.services.sendQueue.size).toBe(0);
  expect(instance.services.sendQueue.queued).toBe(0);
  // every retry above went through: the instance is healthy again right after
  expect((await send(instance, users[1]!, rooms[0]!, 'after-the-burst')).status).toBe(201);
});
