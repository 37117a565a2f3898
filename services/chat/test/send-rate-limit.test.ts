// The per-user send limit: past it /chat/send answers 429 rate_limited with
// Retry-After, stores nothing; a retry of an already stored clientMsgId still gets
// its original, and other users are not affected.
import { historyResponseSchema, problemSchema } from '@parley/contracts';
import request from 'supertest';
import { bearer, useChatHarness, type ChatInstance } from './support/chat-harness';

const h = useChatHarness();
let limited: ChatInstance;

beforeAll(async () => {
  limited = await h.startInstance({ limits: { send: { points: 3, windowMs: 60_000 } } });
});

it('When a user sends past the limit, then the extra send is 429 rate_limited with Retry-After and not stored', async () => {
  const alice = h.newUser('alice');
  const bob = h.newUser('bob');
  const send = (body: Record<string, unknown>) =>
    request(limited.url).post('/chat/send').set(bearer(alice)).send(body);

  for (let i = 1; i <= 3; i++) {
    expect((await send({ to: bob.username, text: `m${i}`, clientMsgId: `c${i}` })).status).toBe(
      201,
    );
  }
  const over = await send({ to: bob.username, text: 'one too many' });

  expect(over.status).toBe(429);
  expect(problemSchema.parse(over.body).code).toBe('rate_limited');
  expect(Number(over.headers['retry-after'])).toBeGreaterThanOrEqual(1);
  const history = await request(limited.url)
    .get('/chat/history')
    .query({ with: bob.username })
    .set(bearer(alice));
  expect(historyResponseSchema.parse(history.body).messages.map((m) => m.text)).toEqual([
    'm1',
    'm2',
    'm3',
  ]);

  // a client retrying a message that was stored gets the original, not a 429
  const retry = await send({ to: bob.username, text: 'm2', clientMsgId: 'c2' });
  expect(retry.status).toBe(200);

  // the limit is per user: bob can still answer
  const reply = await request(limited.url)
    .post('/chat/send')
    .set(bearer(bob))
    .send({ to: alice.username, text: 'slow down' });
  expect(reply.status).toBe(201);
});
