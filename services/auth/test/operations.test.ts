// What every Parley service serves besides its routes: health, readiness, metrics,
// the OpenAPI document generated from the contracts, Swagger UI, request ids, and a
// fast 503 when MongoDB is unreachable.
import SwaggerParser from '@apidevtools/swagger-parser';
import { routesOf } from '@parley/contracts';
import { connectMongo, createLogger, toOpenApiPath } from '@parley/server-kit';
import { generateKeyPairSync } from 'node:crypto';
import { loadConfiguredSigningKey } from '../src/signing-keys';
import { createTestApp, useAuthHarness } from './support/auth-harness';

const t = useAuthHarness('auth_ops');

describe('service endpoints', () => {
  it('When /openapi.json is fetched, then it is a valid OpenAPI 3.x document with every auth route of the contracts', async () => {
    const res = await t.http.get('/openapi.json').expect(200);
    const document = res.body as {
      openapi: string;
      paths: Record<string, Record<string, unknown>>;
    };
    expect(document.openapi).toMatch(/^3\./);
    await expect(SwaggerParser.validate(structuredClone(document) as never)).resolves.toBeDefined();
    for (const [, route] of routesOf('auth')) {
      expect(document.paths[toOpenApiPath(route.path)]?.[route.method]).toBeDefined();
    }
    expect(Object.keys(document.paths).some((p) => p.startsWith('/chat'))).toBe(false);
  });

  it('When /openapi.json is fetched, then it documents logout-all and password change with their error answers', async () => {
    const res = await t.http.get('/openapi.json').expect(200);
    const paths = res.body.paths as Record<
      string,
      Record<string, { responses: Record<string, unknown>; security?: unknown[] }>
    >;
    const logoutAll = paths['/auth/logout-all']?.['post'];
    const password = paths['/auth/password']?.['post'];
    expect(Object.keys(logoutAll?.responses ?? {})).toEqual(expect.arrayContaining(['204', '401']));
    expect(Object.keys(password?.responses ?? {})).toEqual(
      expect.arrayContaining(['204', '400', '401', '429']),
    );
    expect(logoutAll?.security).toBeDefined();
    expect(password?.security).toBeDefined();
  });

  it('When /docs is fetched, then Swagger UI answers', async () => {
    const res = await t.http.get('/docs/').redirects(1);
    expect(res.status).toBe(200);
    expect(res.text).toContain('swagger');
  });

  it('When /healthz and /readyz are fetched with MongoDB up, then both are 200', async () => {
    await t.http.get('/healthz').expect(200, { status: 'ok' });
    const ready = await t.http.get('/readyz').expect(200);
    expect(ready.body).toMatchObject({ checks: { mongo: 'up' } });
  });

  it('When a client sends X-Request-Id, then it is echoed; otherwise one is issued', async () => {
    const echoed = await t.http.get('/healthz').set('X-Request-Id', 'abc-123');
    expect(echoed.headers['x-request-id']).toBe('abc-123');
    const issued = await t.http.get('/healthz');
    expect(issued.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('When an unknown route is called, then 404 not_found problem+json', async () => {
    const res = await t.http.get('/auth/nope');
    expect(res.status).toBe(404);
    expect(res.body).toMatchObject({ code: 'not_found' });
  });

  it('When responses are sent, then helmet headers are on them and CORS is answered', async () => {
    const res = await t.http
      .options('/auth/login')
      .set('Origin', 'http://example.test')
      .set('Access-Control-Request-Method', 'POST');
    expect(res.status).toBeLessThan(300);
    expect(res.headers['access-control-allow-origin']).toBeDefined();
    const normal = await t.http.get('/healthz');
    expect(normal.headers['x-content-type-options']).toBe('nosniff');
  });
});

describe('MongoDB unreachable', () => {
  it('When MongoDB cannot be reached, then requests answer 503 dependency_unavailable within about 2 s', async () => {
    // Arrange: a client pointed at a port nobody listens on
    const down = await connectMongo({
      url: 'mongodb://127.0.0.1:1/auth_down',
      logger: createLogger({ name: 'test', level: 'silent' }),
      requireAtStart: false,
      serverSelectionTimeoutMS: 500,
    });
    const pem = generateKeyPairSync('rsa', { modulusLength: 2048 })
      .privateKey.export({ format: 'pem', type: 'pkcs8' })
      .toString();
    const app = await createTestApp(down, t.recorder, {
      signingKeys: loadConfiguredSigningKey(pem, 'RS256'),
    });
    try {
      // Act
      const started = Date.now();
      const login = await app.http
        .post('/auth/login')
        .send({ username: 'someone', password: 'whatever-password' });
      const register = await app.http
        .post('/auth/register')
        .send({ username: 'someone', password: 'whatever-password' });
      // Assert
      expect(Date.now() - started).toBeLessThan(4_000);
      for (const res of [login, register]) {
        expect(res.status).toBe(503);
        expect(res.body).toMatchObject({ code: 'dependency_unavailable' });
        expect(res.headers['retry-after']).toBeDefined();
      }
      const readyz = await app.http.get('/readyz');
      expect(readyz.status).toBe(503);
      expect(readyz.body).toMatchObject({
        code: 'dependency_unavailable',
        checks: { mongo: 'down' },
      });
      expect(JSON.stringify(login.body)).not.toMatch(/ECONNREFUSED|127\.0\.0\.1:1|stack/);
    } finally {
      await down.close();
    }
  });
});
