import { generateKeyPairSync, randomUUID, type KeyObject } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import jwt from 'jsonwebtoken';
import request from 'supertest';
import {
  createHttpApp,
  createJwksVerifier,
  createMetrics,
  DependencyUnavailableError,
  extractBearer,
  finishHttpApp,
  getAuth,
  requireAuth,
  UnauthorizedError,
} from '@parley/server-kit';
import {
  createCapturingLogger,
  createSilentLogger,
  createTestIssuer,
  waitFor,
} from '@parley/testing';

const ISSUER = 'parley-auth';
const AUDIENCE = 'parley';

interface TestKey {
  kid: string;
  alg: 'RS256' | 'ES256';
  privateKey: KeyObject;
  publicKey: KeyObject;
}

function makeKey(alg: 'RS256' | 'ES256'): TestKey {
  const pair =
    alg === 'RS256'
      ? generateKeyPairSync('rsa', { modulusLength: 2048 })
      : generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return { kid: randomUUID(), alg, ...pair };
}

/** A tiny JWKS server on port 0 whose key list the test controls. */
async function startJwksServer(initial: TestKey[]) {
  const published: TestKey[] = [...initial];
  let requests = 0;
  let failing: false | 'error' | 'hang' = false;
  const server: Server = createServer((_req, res) => {
    requests += 1;
    if (failing === 'hang') return; // never answers: the client's timeout must end it
    if (failing) {
      res.writeHead(500).end();
      return;
    }
    const keys = published.map((k) => ({
      ...k.publicKey.export({ format: 'jwk' }),
      kid: k.kid,
      alg: k.alg,
      use: 'sig',
    }));
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys }));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/.well-known/jwks.json`,
    publish: (key: TestKey) => published.push(key),
    unpublish: (key: TestKey) => published.splice(published.indexOf(key), 1),
    setFailing: (value: boolean | 'error' | 'hang') => {
      failing = value === true ? 'error' : value;
    },
    get requests() {
      return requests;
    },
    close: () => {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function sign(
  key: TestKey,
  claims: Record<string, unknown> = {},
  options: jwt.SignOptions = {},
): string {
  const now = Math.floor(Date.now() / 1000);
  const payload: Record<string, unknown> = {
    sub: 'user-1',
    username: 'alice',
    iss: ISSUER,
    aud: AUDIENCE,
    iat: now,
    exp: now + 900,
    jti: randomUUID(),
    ...claims,
  };
  for (const [name, value] of Object.entries(payload))
    if (value === undefined) delete payload[name];
  return jwt.sign(payload, key.privateKey, { algorithm: key.alg, keyid: key.kid, ...options });
}

function base64url(value: object): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

describe('createJwksVerifier', () => {
  const rsa = makeKey('RS256');
  const ec = makeKey('ES256');
  let jwks: Awaited<ReturnType<typeof startJwksServer>>;

  beforeEach(async () => {
    jwks = await startJwksServer([rsa, ec]);
  });
  afterEach(async () => {
    await jwks.close();
  });

  const verifier = (overrides: Partial<Parameters<typeof createJwksVerifier>[0]> = {}) =>
    createJwksVerifier({ jwksUri: jwks.url, issuer: ISSUER, audience: AUDIENCE, ...overrides });

  it('When a token is signed with a published RSA or EC key, then the principal is returned', async () => {
    const v = verifier();
    const token = sign(rsa, { sub: 'u-42', username: 'bob' });

    const principal = await v.verify(token);
    const viaEc = await v.verify(sign(ec));

    expect(principal).toMatchObject({ userId: 'u-42', username: 'bob', token });
    expect(typeof principal.jti).toBe('string');
    expect(principal.exp).toBeGreaterThan(Date.now() / 1000);
    expect(viaEc.userId).toBe('user-1');
  });

  it('When many tokens are verified, then the JWKS is fetched once (keys are cached)', async () => {
    const v = verifier();

    for (let i = 0; i < 20; i += 1) await v.verify(sign(i % 2 ? rsa : ec));

    expect(jwks.requests).toBe(1);
  });

  it.each([
    ['expired', () => sign(rsa, { exp: Math.floor(Date.now() / 1000) - 60 }), /expired/],
    ['for another audience', () => sign(rsa, { aud: 'someone-else' }), /invalid/],
    ['from another issuer', () => sign(rsa, { iss: 'evil' }), /invalid/],
    ['missing sub', () => sign(rsa, { sub: undefined }), /claims/],
    ['missing username', () => sign(rsa, { username: undefined }), /claims/],
    ['missing jti', () => sign(rsa, { jti: undefined }), /claims/],
    ['missing iat', () => sign(rsa, { iat: undefined }, { noTimestamp: true }), /claims/],
    ['not a JWT at all', () => 'not-a-token', /malformed/],
  ])(
    'When the token is %s, then verify throws UnauthorizedError',
    async (_name, makeToken, detail) => {
      const promise = verifier().verify(makeToken());

      await expect(promise).rejects.toBeInstanceOf(UnauthorizedError);
      await expect(promise).rejects.toMatchObject({
        status: 401,
        detail: expect.stringMatching(detail),
      });
    },
  );

  it('When the token uses alg none, then it is refused', async () => {
    const now = Math.floor(Date.now() / 1000);
    const token = `${base64url({ alg: 'none', typ: 'JWT', kid: rsa.kid })}.${base64url({
      sub: 'user-1',
      username: 'alice',
      iss: ISSUER,
      aud: AUDIENCE,
      exp: now + 60,
      jti: 'x',
    })}.`;

    await expect(verifier().verify(token)).rejects.toBeInstanceOf(UnauthorizedError);
  });

  it('When the token is HS256-signed with the public key as secret (alg confusion), then it is refused', async () => {
    const pem = rsa.publicKey.export({ format: 'pem', type: 'spki' });
    const now = Math.floor(Date.now() / 1000);
    const header = base64url({ alg: 'HS256', typ: 'JWT', kid: rsa.kid });
    const payload = base64url({
      sub: 'user-1',
      username: 'alice',
      iss: ISSUER,
      aud: AUDIENCE,
      exp: now + 60,
      jti: 'x',
    });
    const { createHmac } = await import('node:crypto');
    const signature = createHmac('sha256', pem).update(`${header}.${payload}`).digest('base64url');

    await expect(verifier().verify(`${header}.${payload}.${signature}`)).rejects.toBeInstanceOf(
      UnauthorizedError,
    );
    expect(() => verifier({ algorithms: ['RS256', 'HS256'] })).toThrow(/non-asymmetric/);
  });

  it('When the signature is tampered with, then the token is refused', async () => {
    const [header, payload] = sign(rsa).split('.');
    const forgedPayload = base64url({
      ...JSON.parse(Buffer.from(payload ?? '', 'base64url').toString()),
      sub: 'admin',
    });
    const original = sign(rsa).split('.')[2];

    await expect(
      verifier().verify(`${header}.${forgedPayload}.${original}`),
    ).rejects.toBeInstanceOf(UnauthorizedError);
  });

  it('When the kid is unknown and the key is published later, then a refetch finds it', async () => {
    const rotated = makeKey('RS256');
    const v = verifier();
    await v.verify(sign(rsa));
    const token = sign(rotated);

    await expect(v.verify(token)).rejects.toMatchObject({ detail: /unknown key/ });
    jwks.publish(rotated);
    const principal = await v.verify(token);

    expect(principal.userId).toBe('user-1');
    expect(jwks.requests).toBe(3);
  });

  it('When tokens name made-up kids, then refetches are rate-limited', async () => {
    const v = verifier({ refetchesPerMinute: 2 });
    await v.verify(sign(rsa));
    const bogus = makeKey('RS256');

    for (let i = 0; i < 10; i += 1) {
      await expect(v.verify(sign({ ...bogus, kid: randomUUID() }))).rejects.toBeInstanceOf(
        UnauthorizedError,
      );
    }

    expect(jwks.requests).toBe(3);
  });

  it('When the JWKS cannot be fetched and no key is cached, then verify fails with 503', async () => {
    jwks.setFailing(true);

    await expect(verifier().verify(sign(rsa))).rejects.toBeInstanceOf(DependencyUnavailableError);
  });

  it('When the cache expired and the JWKS is down, then the keys already held keep working', async () => {
    let now = Date.now();
    const v = verifier({ cacheMaxAgeMs: 1000, now: () => now });
    await v.verify(sign(rsa));
    jwks.setFailing(true);
    now += 5000;

    await expect(v.verify(sign(rsa))).resolves.toMatchObject({ userId: 'user-1' });
    await waitFor(() => jwks.requests === 2 || undefined, { description: 'a background refresh' });
  });

  describe('warming the keys at startup', () => {
    it('When the verifier is warmed, then the JWKS is fetched once and the first requests do not fetch it again', async () => {
      const v = verifier();

      await v.warm();
      expect(jwks.requests).toBe(1);
      for (let i = 0; i < 5; i += 1) await v.verify(sign(rsa));
      await v.warm();

      expect(jwks.requests).toBe(1);
    });

    it('When warming fails (auth not up yet), then it neither throws nor retries before the backoff, and a request after the backoff still works', async () => {
      let now = Date.now();
      const log = createCapturingLogger();
      // the backoff (30 to 60 s of the injected clock) is longer than the test: its timer never fires here
      const v = verifier({ retryBaseMs: 60_000, now: () => now, logger: log.logger });
      jwks.setFailing('error');

      await expect(v.warm()).resolves.toBeUndefined();
      expect(
        log.lines().some((l) => l['msg'] === 'JWKS refresh failed; held keys stay in use'),
      ).toBe(true);
      // backing off: a request is answered at once (503) instead of fetching again
      await expect(v.verify(sign(rsa))).rejects.toBeInstanceOf(DependencyUnavailableError);
      await v.warm();
      expect(jwks.requests).toBe(1);

      jwks.setFailing(false);
      now += 60_001;
      await expect(v.verify(sign(rsa))).resolves.toMatchObject({ userId: 'user-1' });
      expect(jwks.requests).toBe(2);
    });

    it('When warming fails and auth comes up later, then the warm-up is retried after its backoff and the keys are held before any request', async () => {
      let fetched = 0;
      const v = verifier({
        retryBaseMs: 20,
        retryMaxMs: 100,
        fetch: async (url, init) => {
          const response = await fetch(url, init);
          if (response.ok) fetched += 1;
          return response;
        },
      });
      jwks.setFailing('error');
      await v.warm();
      jwks.setFailing(false);

      await waitFor(() => fetched === 1 || undefined, { description: 'the retried warm-up' });
      const requests = jwks.requests;
      await expect(v.verify(sign(rsa))).resolves.toMatchObject({ userId: 'user-1' });

      expect(requests).toBeGreaterThanOrEqual(2);
      expect(jwks.requests).toBe(requests); // the request found the keys held
    });

    it('When warm is called while a request is fetching the keys (or the other way round), then the JWKS is fetched once', async () => {
      const first = verifier();
      const second = verifier();

      const requestFirst = first.verify(sign(rsa));
      const warmSecond = second.warm();
      await Promise.all([requestFirst, first.warm()]);
      await Promise.all([warmSecond, second.verify(sign(rsa))]);

      expect(jwks.requests).toBe(2); // one per verifier
    });
  });
});

// docs/design.md §9.5: held keys are served stale while auth is unreachable; refreshes run
// in the background with backoff, and no request waits on one.
describe('JWKS refresh while auth is down or slow', () => {
  const rsa = makeKey('RS256');
  let jwks: Awaited<ReturnType<typeof startJwksServer>>;

  beforeEach(async () => {
    jwks = await startJwksServer([rsa]);
  });
  afterEach(async () => {
    await jwks.close();
  });

  it('When the keys are old and the JWKS hangs, then verify answers at once from the held keys, not after the fetch timeout', async () => {
    let now = Date.now();
    const v = createJwksVerifier({
      jwksUri: jwks.url,
      issuer: ISSUER,
      audience: AUDIENCE,
      cacheMaxAgeMs: 1_000,
      fetchTimeoutMs: 3_000,
      now: () => now,
    });
    await v.verify(sign(rsa));
    jwks.setFailing('hang');
    now += 60_000;

    const started = Date.now();
    for (let i = 0; i < 20; i += 1) await v.verify(sign(rsa));
    const took = Date.now() - started;

    expect(took).toBeLessThan(1_000);
    // one refresh started, hanging in the background; the 20 requests did not queue on it
    await waitFor(() => jwks.requests === 2 || undefined, { description: 'the background fetch' });
    expect(jwks.requests).toBe(2);
  });

  it('When refreshes keep failing, then they are retried with exponential backoff, not once per request', async () => {
    let now = Date.now();
    const log = createCapturingLogger();
    const failures = () =>
      log.lines().filter((l) => l['msg'] === 'JWKS refresh failed; held keys stay in use');
    const attemptsAt: number[] = [];
    let start = 0;
    const v = createJwksVerifier({
      jwksUri: jwks.url,
      issuer: ISSUER,
      audience: AUDIENCE,
      cacheMaxAgeMs: 1_000,
      retryBaseMs: 1_000,
      retryMaxMs: 8_000,
      random: () => 1, // the longest wait of each step: 1, 2, 4, 8, 8 s
      logger: log.logger,
      now: () => now,
      fetch: (url, init) => {
        attemptsAt.push(now - start);
        return fetch(url, init);
      },
    });
    const token = sign(rsa);
    await v.verify(token);
    jwks.setFailing('error');
    now += 2_000;
    start = now;
    attemptsAt.length = 0;

    // 30 simulated seconds, a request every 100 ms; a failed fetch settles before time moves on
    for (let t = 0; t < 30_000; t += 100) {
      await expect(v.verify(token)).resolves.toMatchObject({ userId: 'user-1' });
      await waitFor(() => failures().length === attemptsAt.length || undefined, { intervalMs: 5 });
      now += 100;
    }

    // at once, then 1, 2, 4, 8, 8 s after each failure
    expect(attemptsAt).toEqual([0, 1_000, 3_000, 7_000, 15_000, 23_000]);
    expect(failures().map((l) => l['retryInMs'])).toEqual([
      1_000, 2_000, 4_000, 8_000, 8_000, 8_000,
    ]);
    expect(jwks.requests).toBe(1 + attemptsAt.length);
  });

  it('When the JWKS is back after an outage, then the next refresh picks up its keys (a rotated key) and the held ones still work meanwhile', async () => {
    let now = Date.now();
    const v = createJwksVerifier({
      jwksUri: jwks.url,
      issuer: ISSUER,
      audience: AUDIENCE,
      cacheMaxAgeMs: 1_000,
      retryBaseMs: 1_000,
      random: () => 0,
      now: () => now,
    });
    await v.verify(sign(rsa));
    jwks.setFailing('error');
    now += 2_000;
    await v.verify(sign(rsa));
    await waitFor(() => jwks.requests === 2 || undefined);

    const rotated = makeKey('ES256');
    jwks.publish(rotated);
    jwks.unpublish(rsa);
    jwks.setFailing(false);
    now += 1_000; // past the first backoff step (0.5 s with no jitter)
    await expect(v.verify(sign(rsa))).resolves.toMatchObject({ userId: 'user-1' });

    // the background refresh lands: the new key verifies, the removed one no longer does
    await waitFor(
      async () =>
        await v.verify(sign(rotated)).then(
          () => true,
          () => undefined,
        ),
    );
    await expect(v.verify(sign(rsa))).rejects.toBeInstanceOf(UnauthorizedError);
  });

  it('When a fetch failed moments ago, then a token with an unknown kid is answered at once without another fetch', async () => {
    let now = Date.now();
    const log = createCapturingLogger();
    const v = createJwksVerifier({
      jwksUri: jwks.url,
      issuer: ISSUER,
      audience: AUDIENCE,
      cacheMaxAgeMs: 1_000,
      retryBaseMs: 10_000,
      logger: log.logger,
      now: () => now,
    });
    await v.verify(sign(rsa));
    jwks.setFailing('error');
    now += 2_000;
    await v.verify(sign(rsa)); // starts the refresh that fails
    await waitFor(() => log.lines().some((l) => l['failures'] === 1) || undefined);

    const stranger = makeKey('RS256');
    for (let i = 0; i < 5; i += 1) {
      await expect(v.verify(sign(stranger))).rejects.toMatchObject({ detail: /unknown key/ });
    }
    expect(jwks.requests).toBe(2);
  });
});

describe('extractBearer', () => {
  it('When the header is a bearer token, then the token is returned; anything else gives undefined', () => {
    expect(extractBearer('Bearer abc.def.ghi')).toBe('abc.def.ghi');
    expect(extractBearer('bearer   abc.def.ghi ')).toBe('abc.def.ghi');
    expect(extractBearer('Basic dXNlcjpwdw==')).toBeUndefined();
    expect(extractBearer('Bearer')).toBeUndefined();
    expect(extractBearer('Bearer a b')).toBeUndefined();
    expect(extractBearer(undefined)).toBeUndefined();
  });
});

describe('requireAuth', () => {
  async function buildApp() {
    const issuer = await createTestIssuer();
    const app = createHttpApp({
      logger: createSilentLogger(),
      metrics: createMetrics({ service: 'auth-test', defaultMetrics: false }),
      corsOrigins: '*',
    });
    app.get('/me', requireAuth(issuer.verifier()), (_req, res) => {
      const { userId, username } = getAuth(res);
      res.json({ userId, username });
    });
    app.get('/oops', (_req, res) => {
      res.json(getAuth(res));
    });
    finishHttpApp(app);
    return { app, issuer };
  }

  it('When a valid bearer token is sent, then the handler sees the principal', async () => {
    const { app, issuer } = await buildApp();
    const token = issuer.mint({ userId: 'u-7', username: 'carol' });

    const res = await request(app).get('/me').set('Authorization', `Bearer ${token}`);

    expect(res.status).toBe(200);
    expect(res.body).toEqual({ userId: 'u-7', username: 'carol' });
    await issuer.close();
  });

  it('When the token is missing or expired, then the answer is 401 unauthorized with WWW-Authenticate', async () => {
    const { app, issuer } = await buildApp();

    const missing = await request(app).get('/me');
    const expired = await request(app)
      .get('/me')
      .set('Authorization', `Bearer ${issuer.mint({ expiresInSeconds: -60 })}`);

    for (const res of [missing, expired]) {
      expect(res.status).toBe(401);
      expect(res.body.code).toBe('unauthorized');
      expect(res.headers['www-authenticate']).toBe('Bearer');
    }
    await issuer.close();
  });

  it('When getAuth is used on a route without requireAuth, then it is a 500, not an anonymous user', async () => {
    const { app, issuer } = await buildApp();

    const res = await request(app).get('/oops');

    expect(res.status).toBe(500);
    await issuer.close();
  });

  it('When the test issuer signs with ES256, then the same verifier path accepts it', async () => {
    const issuer = await createTestIssuer({ algorithm: 'ES256' });

    await expect(
      issuer.verifier().verify(issuer.mint({ username: 'dave' })),
    ).resolves.toMatchObject({ username: 'dave' });
    await issuer.close();
  });
});
