// What every endpoint shares (docs/design.md §2): bearer auth, problem+json errors for
// hostile or malformed input, 503 when a dependency is down, and the operational
// endpoints (health, readiness, metrics, OpenAPI, docs).
import { ROUTES, problemSchema, routesOf } from '@parley/contracts';
import request from 'supertest';
import { bearer, useChatHarness } from './support/chat-harness';

const h = useChatHarness();

const api = () => request(h.app.url);

function concretePath(path: string): string {
  return path
    .replace(':emoji', encodeURIComponent('👍'))
    .replace(/:[a-z]+/g, '0123456789abcdef01234567');
}

it('When any chat route is called without a valid token, then 401 unauthorized as problem+json', async () => {
  const expired = h.issuer.mint({ expiresInSeconds: -60 });
  const foreign = h.issuer.mint({ claims: { aud: 'someone-else' } });
  for (const [, route] of routesOf('chat')) {
    for (const auth of [
      undefined,
      'Bearer',
      'Bearer not.a.jwt',
      `Bearer ${expired}`,
      `Bearer ${foreign}`,
      'Basic abc',
    ]) {
      const req = api()[route.method](concretePath(route.path));
      const res = await (auth ? req.set('Authorization', auth) : req);
      expect([route.path, res.status]).toEqual([route.path, 401]);
      expect(problemSchema.parse(res.body).code).toBe('unauthorized');
    }
  }
});

it('When a body is not JSON, too large, not declared JSON, or has unknown or operator fields, then a 4xx problem and nothing is stored', async () => {
  const alice = h.newUser('alice');
  const bob = h.newUser('bob');
  const send = () => api().post('/chat/send').set(bearer(alice));

  const malformed = await send().set('Content-Type', 'application/json').send('{"to":');
  const wrongType = await send().set('Content-Type', 'text/plain').send('hello');
  const tooLarge = await send().send({ to: bob.username, text: 'x'.repeat(70_000) });
  const tooLong = await send().send({ to: bob.username, text: 'x'.repeat(4001) });
  const unknown = await send().send({ to: bob.username, text: 'hi', seq: 1 });
  const operator = await send().send({ to: { $ne: null }, text: 'hi' });
  const operatorId = await send().send({ conversationId: { $gt: '' }, text: 'hi' });
  const arrayBody = await send().send([{ to: bob.username, text: 'hi' }]);
  const whitespace = await send().send({ to: bob.username, text: ' \n\t ' });
  const loneSurrogate = await send().send({ to: bob.username, text: '\ud800' });
  const badClientMsgId = await send().send({
    to: bob.username,
    text: 'hi',
    clientMsgId: 'has space',
  });

  expect([malformed.status, malformed.body.code]).toEqual([400, 'malformed_json']);
  expect([wrongType.status, wrongType.body.code]).toEqual([415, 'unsupported_media_type']);
  expect([tooLarge.status, tooLarge.body.code]).toEqual([413, 'payload_too_large']);
  for (const res of [
    tooLong,
    unknown,
    operator,
    operatorId,
    arrayBody,
    whitespace,
    loneSurrogate,
    badClientMsgId,
  ]) {
    expect([res.status, res.body.code]).toEqual([400, 'validation_failed']);
    expect(res.body.errors?.length).toBeGreaterThan(0);
  }
  expect(JSON.stringify(unknown.body.errors)).toMatch(/seq/);
  expect(await h.db.collection('messages').countDocuments({ senderId: alice.id })).toBe(0);
});

it('When the text is exactly 4000 characters (emoji count as one), then it is accepted', async () => {
  const [alice, bob] = [h.newUser('alice'), h.newUser('bob')];

  const res = await api()
    .post('/chat/send')
    .set(bearer(alice))
    .send({ to: bob.username, text: '😀'.repeat(4000) });

  expect(res.status).toBe(201);
});

it('When query strings carry operators or repeated keys, then 400, never a widened query', async () => {
  const alice = h.newUser('alice');

  const operator = await api().get('/chat/history?conversationId[$ne]=x').set(bearer(alice));
  const repeated = await api()
    .get('/chat/history?conversationId=a&conversationId=b')
    .set(bearer(alice));
  const limit = await api().get('/chat/conversations?limit=1e3').set(bearer(alice));

  expect([operator.status, repeated.status, limit.status]).toEqual([400, 400, 400]);
});

it('When auth is failing or too slow, then username lookups are 503 dependency_unavailable, not 404', async () => {
  const alice = h.newUser('alice');
  const bob = h.newUser('bob');
  try {
    h.auth.mode = 'error';
    const failing = await api()
      .post('/chat/send')
      .set(bearer(alice))
      .send({ to: bob.username, text: 'hi' });
    h.auth.mode = 'hang';
    const started = Date.now();
    const hanging = await api()
      .get('/chat/history')
      .query({ with: bob.username })
      .set(bearer(alice));
    const elapsed = Date.now() - started;

    expect([failing.status, failing.body.code]).toEqual([503, 'dependency_unavailable']);
    expect([hanging.status, hanging.body.code]).toEqual([503, 'dependency_unavailable']);
    expect(failing.headers['retry-after']).toBeDefined();
    // the lookup's timeout (1.5 s in the harness) answered it, not the hang
    expect(elapsed).toBeLessThan(4_000);
  } finally {
    h.auth.mode = 'up';
  }
  const recovered = await api()
    .post('/chat/send')
    .set(bearer(alice))
    .send({ to: bob.username, text: 'hi' });
  expect(recovered.status).toBe(201);
});

it('When MongoDB is unreachable, then requests answer 503 within 2 s and /readyz is 503, while /healthz stays 200', async () => {
  const noMongo = await h.startInstance({
    mongoUrl: 'mongodb://127.0.0.1:1/chat?serverSelectionTimeoutMS=1000&connectTimeoutMS=500',
  });
  const alice = h.newUser('alice');

  const started = Date.now();
  const res = await request(noMongo.url).get('/chat/conversations').set(bearer(alice));
  const elapsed = Date.now() - started;
  const ready = await request(noMongo.url).get('/readyz');
  const health = await request(noMongo.url).get('/healthz');

  expect([res.status, res.body.code]).toEqual([503, 'dependency_unavailable']);
  expect(elapsed).toBeLessThan(2_000);
  expect(ready.status).toBe(503);
  expect(health.status).toBe(200);
});

it('When the operational endpoints are asked, then health, readiness, OpenAPI and docs answer, and metrics only on the metrics port', async () => {
  const alice = h.newUser('alice');
  await api().post('/chat/send').set(bearer(alice)).send({ to: alice.username, text: 'count me' });

  const health = await api().get('/healthz');
  const ready = await api().get('/readyz');
  const metrics = await request(h.app.metricsUrl).get('/metrics');
  const publicMetrics = await api().get('/metrics');
  const openapi = await api().get('/openapi.json');
  const docs = await api().get('/docs/');
  const echoed = await api().get('/healthz').set('X-Request-Id', 'req-123');

  expect([health.status, ready.status, metrics.status, openapi.status, docs.status]).toEqual([
    200, 200, 200, 200, 200,
  ]);
  expect(ready.body.checks).toEqual({ mongo: 'up' });
  expect([publicMetrics.status, publicMetrics.body.code]).toEqual([404, 'not_found']);
  expect(metrics.text).toMatch(/chat_messages_sent_total\{service="chat"\} [1-9]/);
  expect(metrics.text).toContain('chat_outbox_pending');
  expect(metrics.text).toContain('chat_event_publish_failures_total');
  const paths = Object.keys(openapi.body.paths as object);
  for (const [, route] of routesOf('chat')) {
    expect(paths).toContain(route.path.replace(/:([A-Za-z]+)/g, '{$1}'));
  }
  expect(openapi.body.paths['/chat/send'].post.responses['200']).toBeDefined();
  expect(ROUTES.sendMessage.success.status).toBe(201);
  expect(echoed.headers['x-request-id']).toBe('req-123');
});

it('When an unknown route is called, then 404 not_found as problem+json', async () => {
  const res = await api()
    .get('/chat/nothing-here')
    .set(bearer(h.newUser('alice')));
  expect([res.status, res.body.code]).toEqual([404, 'not_found']);
});
