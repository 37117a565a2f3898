// Rate limiting with low limits set through config: failed logins per username and
// per IP, registrations per IP, counted in MongoDB so every instance shares them.
// TRUST_PROXY=true lets each test present its own client IP via X-Forwarded-For.
import { randomInt } from 'node:crypto';
import {
  PASSWORD,
  createTestApp,
  uniqueUsername,
  useAuthHarness,
  type TestApp,
} from './support/auth-harness';

const limits = {
  TRUST_PROXY: 'true',
  LOGIN_MAX_FAILURES_PER_USERNAME: '3',
  LOGIN_MAX_FAILURES_PER_IP: '5',
  LOGIN_FAILURE_WINDOW: '15m',
  REGISTRATIONS_PER_IP: '3',
  REGISTRATION_WINDOW: '1h',
};
const t = useAuthHarness('auth_ratelimit', { env: limits });
let second: TestApp;

beforeAll(async () => {
  second = await createTestApp(t.mongo, t.recorder, { env: limits, signingKeys: t.signingKeys });
});

const uniqueIp = () => `10.${randomInt(256)}.${randomInt(256)}.${randomInt(1, 255)}`;

async function register(app: TestApp, username: string, ip = uniqueIp()) {
  await app.http
    .post('/auth/register')
    .set('X-Forwarded-For', ip)
    .send({ username, password: PASSWORD })
    .expect(201);
}
const login = (app: TestApp, username: string, password: string, ip: string) =>
  app.http.post('/auth/login').set('X-Forwarded-For', ip).send({ username, password });

function expectRateLimited(
  res: { status: number; headers: Record<string, string>; body: unknown },
  windowSeconds = 15 * 60,
) {
  expect(res.status).toBe(429);
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  expect(res.body).toMatchObject({ code: 'rate_limited', status: 429 });
  const retryAfter = Number(res.headers['retry-after']);
  expect(Number.isInteger(retryAfter)).toBe(true);
  expect(retryAfter).toBeGreaterThan(0);
  expect(retryAfter).toBeLessThanOrEqual(windowSeconds);
}

describe('login rate limiting', () => {
  it('When a username has had 3 failed logins, then the next attempt is 429 with Retry-After, even with the right password', async () => {
    const username = uniqueUsername();
    await register(t, username);
    for (let i = 0; i < 3; i++) await login(t, username, 'wrong password', uniqueIp()).expect(401);
    expectRateLimited(await login(t, username, 'wrong password', uniqueIp()));
    expectRateLimited(await login(t, username, PASSWORD, uniqueIp()));
  });

  it('When failures are spread over two instances, then they count together (shared store)', async () => {
    const username = uniqueUsername();
    await register(t, username);
    await login(t, username, 'wrong password', uniqueIp()).expect(401);
    await login(second, username, 'wrong password', uniqueIp()).expect(401);
    await login(t, username, 'wrong password', uniqueIp()).expect(401);
    expectRateLimited(await login(second, username, PASSWORD, uniqueIp()));
  });

  it('When an unknown username fails 3 times, then it is limited exactly like a known one', async () => {
    const username = uniqueUsername('ghost');
    for (let i = 0; i < 3; i++) await login(t, username, 'wrong password', uniqueIp()).expect(401);
    expectRateLimited(await login(t, username, 'wrong password', uniqueIp()));
  });

  it('When logins succeed many times, then they are not counted (only failures are)', async () => {
    const username = uniqueUsername();
    const ip = uniqueIp();
    await register(t, username);
    for (let i = 0; i < 8; i++) await login(t, username, PASSWORD, ip).expect(200);
  });

  it('When a success follows two failures, then the username starts again from zero', async () => {
    const username = uniqueUsername();
    await register(t, username);
    await login(t, username, 'wrong password', uniqueIp()).expect(401);
    await login(t, username, 'wrong password', uniqueIp()).expect(401);
    await login(t, username, PASSWORD, uniqueIp()).expect(200);
    await login(t, username, 'wrong password', uniqueIp()).expect(401);
    await login(t, username, 'wrong password', uniqueIp()).expect(401);
    await login(t, username, PASSWORD, uniqueIp()).expect(200);
  });

  it('When one IP fails 5 times across different usernames, then that IP is limited and another IP is not', async () => {
    const ip = uniqueIp();
    for (let i = 0; i < 5; i++)
      await login(t, uniqueUsername('spray'), 'wrong password', ip).expect(401);
    expectRateLimited(await login(t, uniqueUsername('spray'), 'wrong password', ip));
    await login(t, uniqueUsername('spray'), 'wrong password', uniqueIp()).expect(401);
  });

  it('When many wrong guesses arrive at once, then no more than the limit are checked', async () => {
    const username = uniqueUsername();
    await register(t, username);
    const results = await Promise.all(
      Array.from({ length: 10 }, () => login(t, username, 'wrong password', uniqueIp())),
    );
    expect(results.filter((r) => r.status === 401)).toHaveLength(3);
    expect(results.filter((r) => r.status === 429)).toHaveLength(7);
  });

  it('When a login is rate limited, then /metrics counts it', async () => {
    expect(await t.metricsText()).toMatch(
      /auth_logins_total\{outcome="rate_limited",service="auth"\} [1-9]/,
    );
  });
});

describe('registration rate limiting', () => {
  it('When one IP has registered 3 times in the window, then the 4th is 429 and nothing is stored', async () => {
    const ip = uniqueIp();
    for (let i = 0; i < 3; i++) await register(t, uniqueUsername(), ip);
    const username = uniqueUsername();
    const res = await t.http
      .post('/auth/register')
      .set('X-Forwarded-For', ip)
      .send({ username, password: PASSWORD });
    expectRateLimited(res, 3600);
    expect(await t.mongo.db.collection('users').countDocuments({ username })).toBe(0);
    await register(t, uniqueUsername(), uniqueIp());
  });
});
