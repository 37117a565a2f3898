// Rate limiting with low limits set through config (docs/design.md §9.1): failed logins count
// strictly per (username, client address) and per address, and per username only as a
// slowdown that never refuses the right password; registrations per address. Counted in
// MongoDB, so every instance shares them. TRUST_PROXY=true lets each test present its
// own client address via X-Forwarded-For.
import { randomInt } from 'node:crypto';
import {
  PASSWORD,
  createTestApp,
  uniqueUsername,
  useAuthHarness,
  type TestApp,
} from './support/auth-harness';

const SLOWDOWN_AFTER = 3;
const SLOWDOWN_BASE_MS = 300;
const SLOWDOWN_MAX_MS = 600;
const limits = {
  TRUST_PROXY: 'true',
  LOGIN_MAX_FAILURES_PER_USERNAME_PER_IP: '3',
  LOGIN_MAX_FAILURES_PER_IP: '5',
  LOGIN_FAILURE_WINDOW: '15m',
  LOGIN_SLOWDOWN_AFTER: String(SLOWDOWN_AFTER),
  LOGIN_SLOWDOWN_BASE_MS: String(SLOWDOWN_BASE_MS),
  LOGIN_SLOWDOWN_MAX_MS: String(SLOWDOWN_MAX_MS),
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

/** Milliseconds one login takes end to end, with its response. */
async function timedLogin(app: TestApp, username: string, password: string, ip: string) {
  const started = Date.now();
  const res = await login(app, username, password, ip);
  return { res, ms: Date.now() - started };
}

describe('login: one address cannot lock anyone else out', () => {
  it('When 15 logins for bob fail from another address, then bob still logs in from his own (issue 14, finding 3)', async () => {
    const bob = uniqueUsername('bob');
    await register(t, bob);
    const attacker = uniqueIp();
    const statuses: number[] = [];
    for (let i = 0; i < 15; i++)
      statuses.push((await login(t, bob, 'wrong password', attacker)).status);

    expect(statuses.slice(0, 3)).toEqual([401, 401, 401]);
    expect(new Set(statuses.slice(3))).toEqual(new Set([429]));
    await login(t, bob, PASSWORD, uniqueIp()).expect(200);
  });

  it('When one address has failed 3 times for a username, then that address gets 429 with Retry-After for it, even with the right password', async () => {
    const username = uniqueUsername();
    await register(t, username);
    const ip = uniqueIp();
    for (let i = 0; i < 3; i++) await login(t, username, 'wrong password', ip).expect(401);

    expectRateLimited(await login(t, username, 'wrong password', ip));
    expectRateLimited(await login(t, username, PASSWORD, ip));
  });

  it('When an address is limited for one username, then it still logs in to another account', async () => {
    const [victim, own] = [uniqueUsername('victim'), uniqueUsername('own')];
    await register(t, victim);
    await register(t, own);
    const ip = uniqueIp();
    for (let i = 0; i < 3; i++) await login(t, victim, 'wrong password', ip).expect(401);
    expectRateLimited(await login(t, victim, 'wrong password', ip));

    await login(t, own, PASSWORD, ip).expect(200);
  });

  it('When failures for one username and address are spread over two instances, then they count together (shared store)', async () => {
    const username = uniqueUsername();
    await register(t, username);
    const ip = uniqueIp();
    await login(t, username, 'wrong password', ip).expect(401);
    await login(second, username, 'wrong password', ip).expect(401);
    await login(t, username, 'wrong password', ip).expect(401);
    expectRateLimited(await login(second, username, PASSWORD, ip));
  });

  it('When an unknown username fails 3 times from one address, then it is limited exactly like a known one', async () => {
    const username = uniqueUsername('ghost');
    const ip = uniqueIp();
    for (let i = 0; i < 3; i++) await login(t, username, 'wrong password', ip).expect(401);
    expectRateLimited(await login(t, username, 'wrong password', ip));
  });

  it('When logins succeed many times, then they are not counted (only failures are)', async () => {
    const username = uniqueUsername();
    const ip = uniqueIp();
    await register(t, username);
    for (let i = 0; i < 8; i++) await login(t, username, PASSWORD, ip).expect(200);
  });

  it("When a success follows two failures from one address, then that address's count for the username starts again from zero", async () => {
    const username = uniqueUsername();
    const ip = uniqueIp();
    await register(t, username);
    await login(t, username, 'wrong password', ip).expect(401);
    await login(t, username, 'wrong password', ip).expect(401);
    await login(t, username, PASSWORD, ip).expect(200);
    await login(t, username, 'wrong password', ip).expect(401);
    await login(t, username, 'wrong password', ip).expect(401);
    await login(t, username, PASSWORD, ip).expect(200);
  });

  it('When one address fails 5 times across different usernames, then that address is limited and another is not', async () => {
    const ip = uniqueIp();
    for (let i = 0; i < 5; i++)
      await login(t, uniqueUsername('spray'), 'wrong password', ip).expect(401);
    expectRateLimited(await login(t, uniqueUsername('spray'), 'wrong password', ip));
    await login(t, uniqueUsername('spray'), 'wrong password', uniqueIp()).expect(401);
  });

  it('When many wrong guesses from one address arrive at once, then no more than the limit are checked', async () => {
    const username = uniqueUsername();
    await register(t, username);
    const ip = uniqueIp();
    const results = await Promise.all(
      Array.from({ length: 10 }, () => login(t, username, 'wrong password', ip)),
    );
    // The pair and the address limits are counted side by side, so under load a request
    // can come third on one and sixth on the other: fewer than three may be checked,
    // never more, and every other one is refused without a check.
    const checked = results.filter((r) => r.status === 401).length;
    expect(checked).toBeLessThanOrEqual(3);
    expect(results.filter((r) => r.status === 429)).toHaveLength(10 - checked);
    expectRateLimited(await login(t, username, 'wrong password', ip));
  });

  it('When a login is rate limited, then the metrics count it', async () => {
    expect(await t.metricsText()).toMatch(
      /auth_logins_total\{outcome="rate_limited",service="auth"\} [1-9]/,
    );
  });
});

describe('login: a username under attack from many addresses is slowed, never refused', () => {
  it('When a username has had more failures than the slowdown allows, then each further attempt waits before its password is checked', async () => {
    const username = uniqueUsername();
    await register(t, username);
    const quick = await timedLogin(t, username, 'wrong password', uniqueIp());
    for (let i = 1; i < SLOWDOWN_AFTER; i++)
      await login(t, username, 'wrong password', uniqueIp()).expect(401);

    const first = await timedLogin(t, username, 'wrong password', uniqueIp());
    const second = await timedLogin(t, username, 'wrong password', uniqueIp());
    const capped = await timedLogin(t, username, 'wrong password', uniqueIp());

    expect(quick.ms).toBeLessThan(SLOWDOWN_BASE_MS);
    expect([first.res.status, second.res.status, capped.res.status]).toEqual([401, 401, 401]);
    expect(first.ms).toBeGreaterThanOrEqual(SLOWDOWN_BASE_MS);
    expect(second.ms).toBeGreaterThanOrEqual(2 * SLOWDOWN_BASE_MS);
    expect(capped.ms).toBeGreaterThanOrEqual(SLOWDOWN_MAX_MS);
    expect(capped.ms).toBeLessThan(SLOWDOWN_MAX_MS + 1_000);
  });

  it('When 8 addresses have each failed for bob, then bob logs in with the right password from anywhere (slowed, not refused)', async () => {
    const bob = uniqueUsername('bob');
    await register(t, bob);
    for (let i = 0; i < 8; i++) await login(t, bob, 'wrong password', uniqueIp()).expect(401);

    const fromHome = await timedLogin(t, bob, PASSWORD, uniqueIp());
    const onSecond = await timedLogin(second, bob, PASSWORD, uniqueIp());

    expect([fromHome.res.status, onSecond.res.status]).toEqual([200, 200]);
    expect(fromHome.ms).toBeGreaterThanOrEqual(SLOWDOWN_MAX_MS);
  });

  it('When an unknown username is attacked the same way, then it is slowed alike (no enumeration by timing)', async () => {
    const ghost = uniqueUsername('ghost');
    for (let i = 0; i < SLOWDOWN_AFTER + 1; i++)
      await login(t, ghost, 'wrong password', uniqueIp()).expect(401);

    const slowed = await timedLogin(t, ghost, 'wrong password', uniqueIp());

    expect(slowed.res.status).toBe(401);
    expect(slowed.ms).toBeGreaterThanOrEqual(2 * SLOWDOWN_BASE_MS);
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
