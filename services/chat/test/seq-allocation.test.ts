// docs/design.md §4.5: seq starts at 1 and grows by exactly 1 per conversation, with no hole
// even when writes fail midway, under concurrency in one instance and across two.
import request from 'supertest';
import type { InsertAttempt } from '../src/messages/message-store';
import { bearer, useChatHarness, type ChatInstance, type TestUser } from './support/chat-harness';

const h = useChatHarness();
// the seam into the store: tests choose which insert attempts fail
let failInsert: (attempt: InsertAttempt) => boolean = () => false;
let faulty: ChatInstance;

beforeAll(async () => {
  faulty = await h.startInstance({
    messageHooks: {
      beforeInsert(attempt) {
        if (failInsert(attempt)) throw new Error('injected insert failure');
      },
    },
  });
});

async function roomWith(owner: TestUser, others: TestUser[]): Promise<string> {
  const res = await request(h.app.url)
    .post('/chat/rooms')
    .set(bearer(owner))
    .send({ name: 'busy room', members: others.map((u) => u.username) });
  expect(res.status).toBe(201);
  return res.body.conversation.id as string;
}

async function storedSeqs(conversationId: string): Promise<number[]> {
  const docs = await h.db
    .collection('messages')
    .find({ conversationId })
    .sort({ seq: 1 })
    .toArray();
  return docs.map((d) => d['seq'] as number);
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i + 1);

it('When 200 messages are sent concurrently by several users into one conversation, then their seqs are exactly 1..200', async () => {
  const users = [
    h.newUser('s1'),
    h.newUser('s2'),
    h.newUser('s3'),
    h.newUser('s4'),
    h.newUser('s5'),
  ];
  const conversationId = await roomWith(users[0]!, users.slice(1));

  const started = Date.now();
  const responses = await Promise.all(
    range(200).map((i) =>
      request(h.app.url)
        .post('/chat/send')
        .set(bearer(users[i % users.length]!))
        .send({ conversationId, text: `message ${i}` }),
    ),
  );
  const elapsedMs = Date.now() - started;

  expect(responses.map((r) => r.status)).toEqual(range(200).map(() => 201));
  expect(responses.map((r) => r.body.message.seq as number).sort((a, b) => a - b)).toEqual(
    range(200),
  );
  expect(await storedSeqs(conversationId)).toEqual(range(200));
  // the activity is written behind the sends (ACTIVITY_WRITE_DELAY_MS): write it now
  await h.app.services.conversations.flushActivity();
  const conversation = await h.db
    .collection('conversations')
    .findOne({ _id: conversationId as never });
  expect(conversation?.['lastSeq']).toBe(200);
  process.stdout.write(`200 concurrent sends took ${elapsedMs} ms\n`);
  await h.events.waitFor(
    'new_message',
    (e) => e.data.message.conversationId === conversationId && e.data.message.seq === 200,
  );
  await h.app.services.outbox.drain();
  const announced = h.events
    .ofType('new_message')
    .filter((e) => e.data.message.conversationId === conversationId);
  expect(new Set(announced.map((e) => e.data.message.seq)).size).toBe(200);
});

it('When two instances send into one conversation at once, then the unique index still gives 1..N without holes', async () => {
  const [a, b] = [h.newUser('a'), h.newUser('b')];
  const conversationId = await roomWith(a, [b]);
  const second = await h.startInstance();

  const responses = await Promise.all(
    range(60).map((i) =>
      request(i % 2 ? h.app.url : second.url)
        .post('/chat/send')
        .set(bearer(i % 2 ? a : b))
        .send({ conversationId, text: `m${i}` }),
    ),
  );

  expect(responses.every((r) => r.status === 201)).toBe(true);
  expect(await storedSeqs(conversationId)).toEqual(range(60));
});

it('When some inserts fail midway, then the failed sends answer 500 and the stored seqs have no hole', async () => {
  const [a, b] = [h.newUser('a'), h.newUser('b')];
  const conversationId = await roomWith(a, [b]);
  let attempts = 0;
  // every third insert attempt dies before it is written
  failInsert = (attempt) => attempt.conversationId === conversationId && ++attempts % 3 === 0;

  const statuses: number[] = [];
  for (const i of range(30)) {
    const res = await request(faulty.url)
      .post('/chat/send')
      .set(bearer(i % 2 ? a : b))
      .send({ conversationId, text: `m${i}` });
    statuses.push(res.status);
  }
  const concurrent = await Promise.all(
    range(30).map((i) =>
      request(faulty.url)
        .post('/chat/send')
        .set(bearer(i % 2 ? a : b))
        .send({ conversationId, text: `c${i}` }),
    ),
  );
  failInsert = () => false;

  const failed = [...statuses, ...concurrent.map((r) => r.status)].filter((s) => s === 500).length;
  const stored = await storedSeqs(conversationId);
  expect(failed).toBeGreaterThan(10);
  expect(stored).toEqual(range(60 - failed));
  const after = await request(faulty.url)
    .post('/chat/send')
    .set(bearer(a))
    .send({ conversationId, text: 'after' });
  expect(after.body.message.seq).toBe(60 - failed + 1);
});
