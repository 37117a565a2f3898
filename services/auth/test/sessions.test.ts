// Sessions (docs/design.md §9.3): token answers are never cached; "log out everywhere" and a
// password change end every session of the user and announce it as session_revoked
// on RabbitMQ, through a stored record that survives the broker being down; a login
// has an absolute lifetime that rotation never extends.
import { EVENT_VERSION, type EventOf } from '@parley/contracts';
import amqplib, { type ConsumeMessage } from 'amqplib';
import { ObjectId } from 'mongodb';
import {
  amqpUrl,
  startToxiproxy,
  uniqueName,
  upstreamOf,
  viaProxy,
  waitFor,
  type ToxiproxyServer,
} from '@parley/testing';
import {
  PASSWORD,
  createTestApp,
  registerAndLogin,
  uniqueUsername,
  useAuthHarness,
  type TestApp,
} from './support/auth-harness';

const t = useAuthHarness('auth_sessions', {
  env: {
    TRUST_PROXY: 'true',
    LOGIN_MAX_FAILURES_PER_USERNAME_PER_IP: '3',
    OUTBOX_GRACE_MS: '0',
  },
});

/** Everything published on an exchange while the test runs, as the broker delivered it. */
async function recordEvents(exchange: string) {
  const connection = await amqplib.connect(amqpUrl());
  const channel = await connection.createChannel();
  await channel.assertExchange(exchange, 'fanout', { durable: true });
  const { queue } = await channel.assertQueue('', { exclusive: true, autoDelete: true });
  await channel.bindQueue(queue, exchange, '');
  const received: ConsumeMessage[] = [];
  await channel.consume(queue, (msg) => msg && received.push(msg), { noAck: true });
  const revocations = () =>
    received
      .map((msg) => JSON.parse(msg.content.toString()) as EventOf<'session_revoked'>)
      .filter((event) => event.type === 'session_revoked');
  return {
    received,
    revocationsOf: (userId: string) => revocations().filter((e) => e.data.userId === userId),
    close: () => connection.close(),
  };
}

type Recorder = Awaited<ReturnType<typeof recordEvents>>;
let events: Recorder;
beforeAll(async () => {
  events = await recordEvents(t.exchange);
});
afterAll(async () => {
  await events.close();
});

const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });
const refresh = (app: Pick<TestApp, 'http'>, refreshToken: string) =>
  app.http.post('/auth/refresh').send({ refreshToken });
const login = (username: string, password = PASSWORD, ip = '198.51.100.7') =>
  t.http.post('/auth/login').set('X-Forwarded-For', ip).send({ username, password });

/** Two logins of one user (two devices), and one of somebody else. */
async function userWithTwoSessions() {
  const phone = await registerAndLogin(t.http, uniqueUsername('sess'));
  const laptopRes = await login(phone.username).expect(200);
  const laptop = laptopRes.body as { accessToken: string; refreshToken: string };
  const other = await registerAndLogin(t.http, uniqueUsername('other'));
  return { phone, laptop, other };
}

describe('token answers are not cached', () => {
  it('When login answers with tokens, then Cache-Control is no-store and Pragma no-cache', async () => {
    const { username } = await registerAndLogin(t.http);

    const res = await login(username).expect(200);

    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.headers['pragma']).toBe('no-cache');
  });

  it('When refresh answers, with tokens or a refusal, then it is no-store too', async () => {
    const user = await registerAndLogin(t.http);

    const rotated = await refresh(t, user.refreshToken).expect(200);
    const refused = await refresh(t, 'x'.repeat(43)).expect(401);

    for (const res of [rotated, refused]) {
      expect(res.headers['cache-control']).toBe('no-store');
      expect(res.headers['pragma']).toBe('no-cache');
    }
  });
});

describe('POST /auth/logout-all', () => {
  it('When a user logs out everywhere, then 204 and no refresh token of any of their sessions works, while other users keep theirs', async () => {
    const { phone, laptop, other } = await userWithTwoSessions();

    await t.http.post('/auth/logout-all').set(bearer(phone.accessToken)).expect(204);

    await refresh(t, phone.refreshToken).expect(401);
    await refresh(t, laptop.refreshToken).expect(401);
    await refresh(t, other.refreshToken).expect(200);
  });

  it('When a user logs out everywhere, then session_revoked {userId, revokedAt} goes to the exchange, addressed to the user', async () => {
    const { phone } = await userWithTwoSessions();
    const before = Date.now();

    await t.http.post('/auth/logout-all').set(bearer(phone.accessToken)).expect(204);

    const [event] = await waitFor(() => {
      const found = events.revocationsOf(phone.userId);
      return found.length > 0 ? found : undefined;
    });
    expect(event).toMatchObject({
      type: 'session_revoked',
      version: EVENT_VERSION,
      recipients: [phone.userId],
      data: { userId: phone.userId },
    });
    const revokedAt = Date.parse(event!.data.revokedAt);
    expect(revokedAt).toBeGreaterThanOrEqual(before - 5);
    expect(revokedAt).toBeLessThanOrEqual(Date.now());
    const message = events.received.find((msg) => msg.properties.messageId === event!.id);
    expect(message?.properties).toMatchObject({ type: 'session_revoked', deliveryMode: 2 });
    const stored = await waitFor(() =>
      t.mongo.db
        .collection('session_revocations')
        .findOne({ _id: event!.id as never, publishedAt: { $ne: null } }),
    );
    expect(stored).toMatchObject({ reason: 'logout_all', userId: new ObjectId(phone.userId) });
  });

  it('When the sessions were revoked, then the access tokens issued before are refused by auth, and a login right after gets one that works', async () => {
    const { phone, laptop } = await userWithTwoSessions();

    await t.http.post('/auth/logout-all').set(bearer(phone.accessToken)).expect(204);
    const again = await login(phone.username).expect(200); // most likely within the same second

    for (const old of [phone.accessToken, laptop.accessToken]) {
      const res = await t.http.get('/auth/me').set(bearer(old));
      expect([res.status, res.body.code]).toEqual([401, 'unauthorized']);
    }
    await t.http.post('/auth/logout-all').set(bearer(phone.accessToken)).expect(401);
    await t.http.get('/auth/me').set(bearer(again.body.accessToken)).expect(200);
  });

  it('When a user logs in again and logs out everywhere within the second of an earlier revocation, then that login is ended too', async () => {
    // the clock stands still: every step falls in one second, as a fast client's may
    const frozen = new Date(Math.floor(Date.now() / 1000) * 1000 + 200);
    const app = await createTestApp(t.mongo, t.recorder, {
      signingKeys: t.signingKeys,
      now: () => frozen,
      exchange: t.exchange,
    });
    const first = await registerAndLogin(app.http);
    await app.http.post('/auth/logout-all').set(bearer(first.accessToken)).expect(204);
    // dated the second after the revocation, so that it survives it
    const second = (
      await app.http
        .post('/auth/login')
        .send({ username: first.username, password: PASSWORD })
        .expect(200)
    ).body as { accessToken: string; refreshToken: string };
    await app.http.get('/auth/me').set(bearer(second.accessToken)).expect(200);

    await app.http.post('/auth/logout-all').set(bearer(second.accessToken)).expect(204);

    const res = await app.http.get('/auth/me').set(bearer(second.accessToken));
    expect([res.status, res.body.code]).toEqual([401, 'unauthorized']);
    await refresh(app, second.refreshToken).expect(401);
    // the websocket instances refuse by the event's mark: it covers the token too
    const iat = (
      JSON.parse(Buffer.from(second.accessToken.split('.')[1] ?? '', 'base64url').toString()) as {
        iat: number;
      }
    ).iat;
    await waitFor(() => events.revocationsOf(first.userId).length === 2);
    const marks = events.revocationsOf(first.userId).map((e) => Date.parse(e.data.revokedAt));
    expect(Math.floor(Math.max(...marks) / 1000)).toBeGreaterThanOrEqual(iat);
  });

  it('When there is no bearer token, then 401 and nothing is revoked', async () => {
    const user = await registerAndLogin(t.http);

    const res = await t.http.post('/auth/logout-all');

    expect([res.status, res.body.code]).toEqual([401, 'unauthorized']);
    await refresh(t, user.refreshToken).expect(200);
  });
});

describe('POST /auth/password', () => {
  const change = (token: string, body: object, ip = '203.0.113.50') =>
    t.http.post('/auth/password').set(bearer(token)).set('X-Forwarded-For', ip).send(body);

  it('When the current password is wrong, then 401 invalid_credentials and nothing changes: the password, the sessions, no event', async () => {
    const { phone, laptop } = await userWithTwoSessions();

    const res = await change(phone.accessToken, {
      currentPassword: 'not my password',
      newPassword: 'a brand new password',
    });

    expect([res.status, res.body.code]).toEqual([401, 'invalid_credentials']);
    await login(phone.username).expect(200);
    await refresh(t, laptop.refreshToken).expect(200);
    expect(events.revocationsOf(phone.userId)).toEqual([]);
  });

  it('When the current password is right, then 204: only the new password logs in, every session ended and session_revoked published', async () => {
    const { phone, laptop } = await userWithTwoSessions();
    const newPassword = 'a brand new password';

    await change(phone.accessToken, { currentPassword: PASSWORD, newPassword }).expect(204);

    await login(phone.username).expect(401);
    await login(phone.username, newPassword).expect(200);
    await refresh(t, phone.refreshToken).expect(401);
    await refresh(t, laptop.refreshToken).expect(401);
    await t.http.get('/auth/me').set(bearer(laptop.accessToken)).expect(401);
    await waitFor(() => events.revocationsOf(phone.userId).length === 1 || undefined);
    const record = await t.mongo.db
      .collection('session_revocations')
      .findOne({ userId: new ObjectId(phone.userId) });
    expect(record).toMatchObject({ reason: 'password_changed' });
  });

  it('When wrong current passwords come from one address, then it is limited like login: 429 with Retry-After, even for the right one', async () => {
    const { phone } = await userWithTwoSessions();
    const wrong = { currentPassword: 'guess', newPassword: 'a brand new password' };
    const ip = '203.0.113.77';

    for (let i = 0; i < 3; i++) await change(phone.accessToken, wrong, ip).expect(401);
    const limited = await change(phone.accessToken, { ...wrong, currentPassword: PASSWORD }, ip);

    expect([limited.status, limited.body.code]).toEqual([429, 'rate_limited']);
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    await login(phone.username).expect(200); // the password did not change
  });

  it.each([
    ['a new password under 8 characters', { currentPassword: PASSWORD, newPassword: 'short' }],
    ['no current password', { newPassword: 'a brand new password' }],
    ['an unknown field', { currentPassword: PASSWORD, newPassword: 'long enough', admin: true }],
  ])(
    'When the body has %s, then 400 validation_failed and nothing changes',
    async (_label, body) => {
      const user = await registerAndLogin(t.http);

      const res = await change(user.accessToken, body);

      expect([res.status, res.body.code]).toEqual([400, 'validation_failed']);
      await login(user.username).expect(200);
      await refresh(t, user.refreshToken).expect(200);
    },
  );
});

describe('session_revoked while RabbitMQ is down', () => {
  let toxiproxy: ToxiproxyServer;
  beforeAll(async () => {
    toxiproxy = await startToxiproxy();
  });
  afterAll(async () => {
    await toxiproxy.stop();
  });

  it('When the broker is unreachable at logout-all, then 204 and /readyz stay up, the event is kept, and it is published once the broker is back', async () => {
    const link = await toxiproxy.client.createProxy({
      name: uniqueName('auth-amqp'),
      upstream: upstreamOf(amqpUrl()),
    });
    const app = await createTestApp(t.mongo, t.recorder, {
      env: { OUTBOX_GRACE_MS: '0' },
      signingKeys: t.signingKeys,
      amqpUrl: viaProxy(amqpUrl(), link),
      exchange: t.exchange,
    });
    const user = await registerAndLogin(app.http);
    await link.cut();

    await app.http.post('/auth/logout-all').set(bearer(user.accessToken)).expect(204);
    await app.http.get('/readyz').expect(200);
    await refresh(app, user.refreshToken).expect(401);
    await app.services.revocations.drain(); // the fast path gave up (publish timeout)
    const pending = () =>
      t.mongo.db
        .collection('session_revocations')
        .findOne({ userId: new ObjectId(user.userId), publishedAt: null });
    expect(await pending()).not.toBeNull();
    expect(events.revocationsOf(user.userId)).toEqual([]);

    await link.restore();
    await waitFor(
      async () => {
        await app.services.revocations.relayPending();
        return events.revocationsOf(user.userId).length > 0 || undefined;
      },
      { timeoutMs: 20_000, intervalMs: 250, description: 'the relay to publish session_revoked' },
    );
    expect(events.revocationsOf(user.userId)).toHaveLength(1);
    expect(await pending()).toBeNull();
  });
});

describe('a login has an absolute lifetime', () => {
  it('When a session is refreshed every 20 days, then it still ends 90 days after the login (rotation never extends it)', async () => {
    let now = Date.now();
    const DAY = 86_400_000;
    const app = await createTestApp(t.mongo, t.recorder, {
      env: { REFRESH_TOKEN_TTL: '30d', REFRESH_FAMILY_MAX_AGE: '90d' },
      signingKeys: t.signingKeys,
      now: () => new Date(now),
      exchange: t.exchange,
    });
    const user = await registerAndLogin(app.http);
    const loggedInAt = now;

    let token = user.refreshToken;
    for (const day of [20, 40, 60, 80, 89]) {
      now = loggedInAt + day * DAY;
      token = ((await refresh(app, token).expect(200)).body as { refreshToken: string })
        .refreshToken;
    }
    now = loggedInAt + 90 * DAY + 1_000;

    await refresh(app, token).expect(401);
  });

  it('When a session is left alone, then each refresh token still expires after REFRESH_TOKEN_TTL', async () => {
    let now = Date.now();
    const app = await createTestApp(t.mongo, t.recorder, {
      env: { REFRESH_TOKEN_TTL: '1h', REFRESH_FAMILY_MAX_AGE: '90d' },
      signingKeys: t.signingKeys,
      now: () => new Date(now),
      exchange: t.exchange,
    });
    const user = await registerAndLogin(app.http);

    now += 3_600_000 + 1_000;

    await refresh(app, user.refreshToken).expect(401);
  });
});
