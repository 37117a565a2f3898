import { z } from 'zod';
import request from 'supertest';
import { MongoServerSelectionError } from 'mongodb';
import {
  createHttpApp,
  createMetrics,
  createOpenApiDocument,
  finishHttpApp,
  NotFoundError,
  parseBody,
  parseQuery,
  RateLimitedError,
  startMetricsServer,
  type ReadinessCheck,
} from '@parley/server-kit';
import { createCapturingLogger } from '@parley/testing';

const bodySchema = z.strictObject({ text: z.string().min(1) });

function buildApp(
  options: { readiness?: ReadinessCheck[]; corsOrigins?: '*' | string[]; bodyLimit?: string } = {},
) {
  const { logger, lines } = createCapturingLogger('http-test');
  const metrics = createMetrics({ service: 'http-test', defaultMetrics: false });
  const app = createHttpApp({
    logger,
    metrics,
    corsOrigins: options.corsOrigins ?? ['https://app.example'],
    bodyLimit: options.bodyLimit ?? '1kb',
    readiness: options.readiness ?? [],
    readinessTimeoutMs: 200,
    openapi: createOpenApiDocument({ title: 'test', version: '1', register: () => undefined }),
  });
  app.post('/echo', (req, res) => {
    res.status(201).json(parseBody(bodySchema, req));
  });
  app.post('/empty', (_req, res) => {
    res.status(204).end();
  });
  app.get('/search', (req, res) => {
    res.json(parseQuery(z.strictObject({ limit: z.coerce.number().int().max(100) }), req));
  });
  app.get('/things/:id', (req) => {
    throw new NotFoundError(`No thing ${req.params['id']}`, { code: 'message_not_found' });
  });
  app.get('/slow-down', () => {
    throw new RateLimitedError(7);
  });
  app.get('/bug', () => {
    throw new Error('connection string mongodb://admin:pw@db is wrong');
  });
  app.get('/mongo-down', async () => {
    throw new MongoServerSelectionError('Server selection timed out after 2000 ms', {} as never);
  });
  finishHttpApp(app);
  return { app, metrics, lines };
}

function expectProblem(res: request.Response, status: number, code: string) {
  expect(res.status).toBe(status);
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  expect(res.body).toMatchObject({
    status,
    code,
    type: expect.stringContaining('https://'),
    title: expect.any(String),
  });
  expect(typeof res.body.detail).toBe('string');
}

describe('createHttpApp', () => {
  it('When a valid JSON body is posted, then the route gets it parsed', async () => {
    const { app } = buildApp();

    const res = await request(app).post('/echo').send({ text: 'hi' });

    expect(res.status).toBe(201);
    expect(res.body).toEqual({ text: 'hi' });
  });

  it('When the body has an unknown field, then the answer is 400 validation_failed listing it', async () => {
    const { app } = buildApp();

    const res = await request(app).post('/echo').send({ text: 'hi', admin: true });

    expectProblem(res, 400, 'validation_failed');
    expect(res.body.errors).toEqual([{ path: 'admin', message: 'Unknown field' }]);
  });

  it('When the body is broken JSON, then the answer is 400 malformed_json', async () => {
    const { app } = buildApp();

    const res = await request(app)
      .post('/echo')
      .set('Content-Type', 'application/json')
      .send('{"text": ');

    expectProblem(res, 400, 'malformed_json');
  });

  it('When the body is not JSON, then the answer is 415 unsupported_media_type', async () => {
    const { app } = buildApp();

    const res = await request(app).post('/echo').set('Content-Type', 'text/plain').send('text=hi');

    expectProblem(res, 415, 'unsupported_media_type');
  });

  it('When a POST has no body and no content type, then it is accepted', async () => {
    const { app } = buildApp();

    const res = await request(app).post('/empty');

    expect(res.status).toBe(204);
  });

  it('When the body exceeds the limit, then the answer is 413 payload_too_large', async () => {
    const { app } = buildApp({ bodyLimit: '1kb' });

    const res = await request(app)
      .post('/echo')
      .send({ text: 'x'.repeat(2048) });

    expectProblem(res, 413, 'payload_too_large');
  });

  it('When a query parameter is invalid, then the answer is 400 with its path', async () => {
    const { app } = buildApp();

    const ok = await request(app).get('/search?limit=20');
    const bad = await request(app).get('/search?limit=500');

    expect(ok.body).toEqual({ limit: 20 });
    expectProblem(bad, 400, 'validation_failed');
    expect(bad.body.errors[0].path).toBe('limit');
  });

  it('When no route matches, then the answer is 404 not_found as problem+json', async () => {
    const { app } = buildApp();

    expectProblem(await request(app).get('/nope'), 404, 'not_found');
  });

  it('When a route throws a typed error, then its code, detail and headers are sent', async () => {
    const { app } = buildApp();

    const notFound = await request(app).get('/things/42');
    const limited = await request(app).get('/slow-down');

    expectProblem(notFound, 404, 'message_not_found');
    expect(notFound.body.detail).toBe('No thing 42');
    expectProblem(limited, 429, 'rate_limited');
    expect(limited.headers['retry-after']).toBe('7');
  });

  it('When a route has a bug, then the client gets a generic 500 and the log gets the stack', async () => {
    const { app, lines } = buildApp();

    const res = await request(app).get('/bug');

    expectProblem(res, 500, 'internal');
    expect(JSON.stringify(res.body)).not.toMatch(/mongodb:\/\/|pw@|at .*\.ts/);
    const logged = lines().find((l) => l['msg'] === 'unhandled error');
    expect(JSON.stringify(logged)).toMatch(/connection string/);
    expect((logged?.['err'] as { stack?: string } | undefined)?.stack).toMatch(
      /http-app\.test\.ts/,
    );
  });

  it('When MongoDB is unreachable during a request, then the answer is 503 dependency_unavailable', async () => {
    const { app } = buildApp();

    const res = await request(app).get('/mongo-down');

    expectProblem(res, 503, 'dependency_unavailable');
    expect(res.body.detail).not.toMatch(/2000 ms/);
  });

  it('When a client sends a sane X-Request-Id, then it is echoed; otherwise a UUID is issued', async () => {
    const { app, lines } = buildApp();

    const echoed = await request(app).get('/things/1').set('X-Request-Id', 'client-abc.123');
    const hostile = await request(app).get('/healthz').set('X-Request-Id', 'x'.repeat(500));
    const none = await request(app).get('/healthz');

    expect(echoed.headers['x-request-id']).toBe('client-abc.123');
    expect(hostile.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    expect(none.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    expect(
      lines().some((l) => (l['req'] as { id?: string } | undefined)?.id === 'client-abc.123'),
    ).toBe(true);
  });

  it('When a request carries credentials, then the request log has the id but not the secrets', async () => {
    const { app, lines } = buildApp();

    await request(app)
      .get('/things/9')
      .set('X-Request-Id', 'log-check-1')
      .set('Authorization', 'Bearer very.secret.token')
      .set('Cookie', 'session=s3cr3t');

    const logged = JSON.stringify(lines());
    expect(logged).toContain('log-check-1');
    expect(logged).not.toContain('very.secret.token');
    expect(logged).not.toContain('s3cr3t');
  });

  it('When a browser on an allowed origin asks, then CORS allows it and exposes the headers a client reads', async () => {
    const { app } = buildApp({ corsOrigins: ['https://app.example'] });

    const preflight = await request(app)
      .options('/echo')
      .set('Origin', 'https://app.example')
      .set('Access-Control-Request-Method', 'POST')
      .set('Access-Control-Request-Headers', 'authorization,content-type');
    const actual = await request(app).get('/healthz').set('Origin', 'https://app.example');
    const other = await request(app).get('/healthz').set('Origin', 'https://evil.example');

    expect(preflight.status).toBe(204);
    expect(preflight.headers['access-control-allow-origin']).toBe('https://app.example');
    const exposed = String(actual.headers['access-control-expose-headers'])
      .split(',')
      .map((name) => name.trim().toLowerCase());
    // what a page reads: the request id, Retry-After (429/503), WWW-Authenticate (401),
    // and a download's validator, ranges, length and file name (docs/design.md §11.3)
    expect(exposed).toEqual(
      expect.arrayContaining([
        'x-request-id',
        'retry-after',
        'www-authenticate',
        'etag',
        'accept-ranges',
        'content-range',
        'content-length',
        'content-disposition',
      ]),
    );
    expect(other.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('When /healthz and /readyz are asked with all dependencies up, then both answer 200', async () => {
    const { app } = buildApp({ readiness: [{ name: 'mongo', check: async () => undefined }] });

    const health = await request(app).get('/healthz');
    const ready = await request(app).get('/readyz');

    expect(health.body).toEqual({ status: 'ok' });
    expect(health.headers['x-content-type-options']).toBe('nosniff');
    expect(ready.status).toBe(200);
    expect(ready.body).toEqual({ status: 'ready', checks: { mongo: 'up' } });
  });

  it('When a dependency fails or hangs, then /readyz answers 503 quickly with the check states', async () => {
    const { app } = buildApp({
      readiness: [
        { name: 'mongo', check: () => new Promise(() => undefined) },
        { name: 'rabbitmq', check: async () => Promise.reject(new Error('down')) },
        { name: 'cache', check: async () => undefined },
      ],
    });

    const started = Date.now();
    const res = await request(app).get('/readyz');

    expect(Date.now() - started).toBeLessThan(1500);
    expectProblem(res, 503, 'dependency_unavailable');
    expect(res.body.checks).toEqual({ mongo: 'down', rabbitmq: 'down', cache: 'up' });
  });

  it('When /metrics is scraped on the metrics port, then request durations are labelled by route pattern, not URL', async () => {
    const { app, metrics } = buildApp();
    await request(app).get('/things/123');
    await request(app).get('/things/456');
    await request(app).get('/no/such/path');
    const scrape = await startMetricsServer(metrics, { port: 0 });

    try {
      const res = await request(scrape.url).get('/metrics');

      expect(res.status).toBe(200);
      expect(res.text).toMatch(
        /http_request_duration_seconds_count\{[^}]*route="\/things\/:id"[^}]*status="404"[^}]*\} 2/,
      );
      expect(res.text).toMatch(/route="\(unmatched\)"/);
      expect(res.text).not.toMatch(/\/things\/123/);
      expect(new URL(scrape.url).hostname).toBe('127.0.0.1');
      await request(scrape.url).get('/healthz').expect(404);
    } finally {
      await scrape.close();
    }
  });

  it('When /metrics is asked on the public port, then it is 404 not_found (metrics have their own port)', async () => {
    const { app } = buildApp();

    const res = await request(app).get('/metrics');

    expectProblem(res, 404, 'not_found');
    expect(res.text).not.toMatch(/http_request_duration_seconds/);
  });

  it('When an OpenAPI document is given, then /openapi.json and /docs serve it', async () => {
    const { app } = buildApp();

    const doc = await request(app).get('/openapi.json');
    const docs = await request(app).get('/docs/');

    expect(doc.body).toMatchObject({ openapi: '3.1.0', info: { title: 'test' } });
    expect(docs.status).toBe(200);
    expect(docs.text).toMatch(/swagger-ui/i);
  });

  it('When /docs is served, then its CSP keeps the defaults but does not upgrade insecure requests', async () => {
    const { app } = buildApp();

    const docs = await request(app).get('/docs/');

    expect(docs.headers['content-security-policy']).toContain("default-src 'self'");
    expect(docs.headers['content-security-policy']).not.toContain('upgrade-insecure-requests');
  });
});
