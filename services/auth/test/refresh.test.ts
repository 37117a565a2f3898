// POST /auth/refresh and /auth/logout: rotation on every use, reuse detection that
// revokes the whole token family, expiry, and logout without an oracle.
import { ObjectId } from 'mongodb';
import { createRefreshTokenStore } from '../src/refresh-token-store';
import { createTestApp, registerAndLogin, useAuthHarness } from './support/auth-harness';

const t = useAuthHarness('auth_refresh');

interface Tokens {
  accessToken: string;
  refreshToken: string;
}
const refresh = (refreshToken: string) => t.http.post('/auth/refresh').send({ refreshToken });

describe('POST /auth/refresh', () => {
  it('When a live refresh token is presented, then 200 returns new tokens of the same shape as login', async () => {
    const user = await registerAndLogin(t.http);
    const res = await refresh(user.refreshToken);
    expect(res.status).toBe(200);
    const body = res.body as Tokens & { user: { id: string } };
    expect(body).toMatchObject({
      tokenType: 'Bearer',
      expiresIn: 900,
      user: { id: user.userId, username: user.username },
    });
    expect(body.refreshToken).not.toBe(user.refreshToken);
    expect(body.accessToken).not.toBe(user.accessToken);
    await t.http.get('/auth/me').set('Authorization', `Bearer ${body.accessToken}`).expect(200);
  });

  it('When a refresh token has been rotated, then presenting it again is 401', async () => {
    const user = await registerAndLogin(t.http);
    await refresh(user.refreshToken).expect(200);
    const res = await refresh(user.refreshToken);
    expect(res.status).toBe(401);
    expect(res.body).toMatchObject({ code: 'unauthorized' });
  });

  it('When a rotated token is replayed, then the whole family is revoked, including the newest token', async () => {
    // Arrange: A → B → C by rotation
    const user = await registerAndLogin(t.http);
    const b = (await refresh(user.refreshToken).expect(200)).body as Tokens;
    const c = (await refresh(b.refreshToken).expect(200)).body as Tokens;
    // Act: the thief replays A
    await refresh(user.refreshToken).expect(401);
    // Assert: the legitimate holder of C is logged out too
    await refresh(c.refreshToken).expect(401);
  });

  it('When a replay revokes one family, then other sessions of the same user keep working', async () => {
    const user = await registerAndLogin(t.http);
    const other = await t.http
      .post('/auth/login')
      .send({ username: user.username, password: 'correct horse battery staple' })
      .expect(200);
    await refresh(user.refreshToken).expect(200);
    await refresh(user.refreshToken).expect(401);
    await refresh((other.body as Tokens).refreshToken).expect(200);
  });

  it('When refreshes with the same token race, then at most one wins, and the duplicate counts as a replay that ends the session', async () => {
    // Arrange
    const user = await registerAndLogin(t.http);
    // Act
    const results = await Promise.all([
      refresh(user.refreshToken),
      refresh(user.refreshToken),
      refresh(user.refreshToken),
    ]);
    // Assert: the conditional update lets one claim through at most...
    const winners = results.filter((r) => r.status === 200);
    expect(winners.length).toBeLessThanOrEqual(1);
    expect(results.filter((r) => r.status === 401).length).toBeGreaterThanOrEqual(2);
    // ...and the losers presented an already-rotated token, so the family is revoked.
    for (const winner of winners) await refresh((winner.body as Tokens).refreshToken).expect(401);
  });

  it('When ten claims of one token run concurrently in the store, then exactly one rotates it', async () => {
    const store = createRefreshTokenStore(t.mongo.db, { ttlSeconds: 60, familyMaxAgeSeconds: 600 });
    const { token } = await store.issue({ userId: new ObjectId(), now: new Date() });
    const outcomes = await Promise.all(
      Array.from({ length: 10 }, () => store.claim(token, new Date())),
    );
    expect(outcomes.filter((o) => o.outcome === 'rotated')).toHaveLength(1);
    expect(outcomes.filter((o) => o.outcome === 'reused')).toHaveLength(9);
  });

  it('When the refresh token is unknown, then 401', async () => {
    await refresh('x'.repeat(43)).expect(401);
  });

  it('When the refresh token has expired, then 401', async () => {
    // Issued by an instance whose clock is 10 s behind, with a 5 s lifetime.
    const user = await registerAndLogin(t.http);
    const behind = await createTestApp(t.mongo, t.recorder, {
      env: { REFRESH_TOKEN_TTL: '5s' },
      now: () => new Date(Date.now() - 10_000),
    });
    const login = await behind.http
      .post('/auth/login')
      .send({ username: user.username, password: 'correct horse battery staple' })
      .expect(200);
    await refresh((login.body as Tokens).refreshToken).expect(401);
  });

  it.each([
    ['no refreshToken', {}],
    ['a too short token', { refreshToken: 'short' }],
    ['an operator object', { refreshToken: { $ne: null } }],
    ['an unknown field', { refreshToken: 'x'.repeat(43), userId: 'me' }],
  ])('When the body has %s, then 400 validation_failed', async (_case, body) => {
    const res = await t.http.post('/auth/refresh').send(body);
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ code: 'validation_failed' });
  });

  it('When refresh tokens are stored, then only their hash is in the database', async () => {
    const user = await registerAndLogin(t.http);
    const docs = await t.mongo.db.collection('refresh_tokens').find({}).toArray();
    expect(JSON.stringify(docs)).not.toContain(user.refreshToken);
  });
});

describe('POST /auth/logout', () => {
  it('When a live refresh token logs out, then 204 and the token no longer refreshes', async () => {
    const user = await registerAndLogin(t.http);
    const res = await t.http.post('/auth/logout').send({ refreshToken: user.refreshToken });
    expect(res.status).toBe(204);
    expect(res.text).toBe('');
    await refresh(user.refreshToken).expect(401);
  });

  it('When the session was refreshed before logout, then logout revokes the whole session', async () => {
    const user = await registerAndLogin(t.http);
    const b = (await refresh(user.refreshToken).expect(200)).body as Tokens;
    await t.http.post('/auth/logout').send({ refreshToken: b.refreshToken }).expect(204);
    await refresh(b.refreshToken).expect(401);
  });

  it('When the refresh token is unknown, then still 204 (no oracle)', async () => {
    await t.http
      .post('/auth/logout')
      .send({ refreshToken: 'y'.repeat(43) })
      .expect(204);
  });

  it('When logout is repeated, then 204 each time', async () => {
    const user = await registerAndLogin(t.http);
    await t.http.post('/auth/logout').send({ refreshToken: user.refreshToken }).expect(204);
    await t.http.post('/auth/logout').send({ refreshToken: user.refreshToken }).expect(204);
  });

  it('When the body is invalid, then 400 validation_failed', async () => {
    const res = await t.http.post('/auth/logout').send({ token: 'abc' });
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ code: 'validation_failed' });
  });
});
