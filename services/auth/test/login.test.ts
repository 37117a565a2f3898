// POST /auth/login: the token response, the access-token layout, and one answer for
// an unknown user and a wrong password (same body, a bcrypt comparison in both).
import jwt from 'jsonwebtoken';
import { createTestApp, PASSWORD, uniqueUsername, useAuthHarness } from './support/auth-harness';

const t = useAuthHarness('auth_login');

async function register(username = uniqueUsername(), password = PASSWORD): Promise<string> {
  await t.http.post('/auth/register').send({ username, password }).expect(201);
  return username;
}

describe('POST /auth/login', () => {
  it('When the password is right, then 200 returns access and refresh tokens with the user', async () => {
    // Arrange
    const username = await register();
    // Act
    const res = await t.http.post('/auth/login').send({ username, password: PASSWORD });
    // Assert
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      accessToken: expect.any(String),
      refreshToken: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/),
      tokenType: 'Bearer',
      expiresIn: 900,
      user: {
        id: expect.any(String),
        username,
        displayName: username,
        createdAt: expect.any(String),
      },
    });
  });

  it('When a token is issued, then it is RS256 with a kid and exactly the claims sub, username, iss, aud, iat, exp, jti', async () => {
    const username = await register();
    const res = await t.http.post('/auth/login').send({ username, password: PASSWORD }).expect(200);
    const body = res.body as { accessToken: string; user: { id: string } };

    const decoded = jwt.decode(body.accessToken, { complete: true });
    expect(decoded?.header).toMatchObject({ alg: 'RS256', kid: t.signingKeys.active.kid });
    const claims = decoded?.payload as Record<string, unknown>;
    expect(Object.keys(claims).sort()).toEqual([
      'aud',
      'exp',
      'iat',
      'iss',
      'jti',
      'sub',
      'username',
    ]);
    expect(claims).toMatchObject({
      sub: body.user.id,
      username,
      iss: 'parley-auth',
      aud: 'parley',
    });
    expect((claims['exp'] as number) - (claims['iat'] as number)).toBe(900);
    expect(claims['jti']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('When two logins happen, then each token has its own jti and refresh token', async () => {
    const username = await register();
    const [a, b] = await Promise.all([
      t.http.post('/auth/login').send({ username, password: PASSWORD }),
      t.http.post('/auth/login').send({ username, password: PASSWORD }),
    ]);
    const [ta, tb] = [
      a.body as { accessToken: string; refreshToken: string },
      b.body as { accessToken: string; refreshToken: string },
    ];
    expect((jwt.decode(ta.accessToken) as { jti: string }).jti).not.toBe(
      (jwt.decode(tb.accessToken) as { jti: string }).jti,
    );
    expect(ta.refreshToken).not.toBe(tb.refreshToken);
  });

  it('When the username is given in another case, then login succeeds', async () => {
    const username = await register();
    await t.http
      .post('/auth/login')
      .send({ username: username.toUpperCase(), password: PASSWORD })
      .expect(200);
  });

  it('When the password is wrong, then 401 invalid_credentials', async () => {
    const username = await register();
    const res = await t.http.post('/auth/login').send({ username, password: 'not the password' });
    expect(res.status).toBe(401);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.body).toMatchObject({ code: 'invalid_credentials', status: 401 });
  });

  it('When the user does not exist, then the answer is the same 401 invalid_credentials as for a wrong password', async () => {
    const username = await register();
    const wrongPassword = await t.http
      .post('/auth/login')
      .send({ username, password: 'not the password' });
    const unknownUser = await t.http
      .post('/auth/login')
      .send({ username: uniqueUsername('ghost'), password: 'not the password' });
    expect(unknownUser.status).toBe(401);
    expect(unknownUser.body).toEqual(wrongPassword.body);
  });

  it('When the user does not exist, then a bcrypt comparison still runs (the two paths take comparable time)', async () => {
    // At cost 10 one comparison takes tens of ms, far above the rest of the request.
    const slow = await createTestApp(t.mongo, t.recorder, { env: { BCRYPT_COST: '10' } });
    const username = uniqueUsername();
    await slow.http.post('/auth/register').send({ username, password: PASSWORD }).expect(201);
    const time = async (name: string) => {
      const started = process.hrtime.bigint();
      await slow.http
        .post('/auth/login')
        .send({ username: name, password: 'not the password' })
        .expect(401);
      return Number(process.hrtime.bigint() - started) / 1e6;
    };
    await time(uniqueUsername('warm')); // builds the dummy hash once
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
    const known: number[] = [];
    const unknown: number[] = [];
    for (let i = 0; i < 5; i++) {
      known.push(await time(username));
      unknown.push(await time(uniqueUsername('ghost')));
    }
    expect(median(unknown)).toBeGreaterThan(median(known) * 0.5);
    expect(median(unknown)).toBeLessThan(median(known) * 2);
  });

  it('When a 128-character password differs from the registered one only after byte 72, then login is refused (every character counts)', async () => {
    const prefix = 'p'.repeat(100);
    const username = await register(uniqueUsername(), `${prefix}${'a'.repeat(28)}`);
    await t.http
      .post('/auth/login')
      .send({ username, password: `${prefix}${'b'.repeat(28)}` })
      .expect(401);
    await t.http
      .post('/auth/login')
      .send({ username, password: `${prefix}${'a'.repeat(28)}` })
      .expect(200);
  });

  it.each([
    ['an operator object as username', { username: { $gt: '' }, password: PASSWORD }],
    ['an operator object as password', { username: 'someone', password: { $ne: '' } }],
    ['an unknown field', { username: 'someone', password: PASSWORD, admin: true }],
    ['no password', { username: 'someone' }],
    ['an empty password', { username: 'someone', password: '' }],
  ])('When the body has %s, then 400 validation_failed', async (_case, body) => {
    const res = await t.http.post('/auth/login').send(body);
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ code: 'validation_failed' });
  });

  it('When the body is malformed JSON, then 400 malformed_json', async () => {
    const res = await t.http
      .post('/auth/login')
      .set('content-type', 'application/json')
      .send('{"username":');
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ code: 'malformed_json' });
  });

  it('When the body is form encoded, then 415 unsupported_media_type', async () => {
    const res = await t.http.post('/auth/login').type('form').send('username=a&password=b');
    expect(res.status).toBe(415);
    expect(res.body).toMatchObject({ code: 'unsupported_media_type' });
  });

  it('When a login succeeds, then auth_logins_total counts it by outcome on the metrics port (the public port has no /metrics)', async () => {
    const username = await register();
    await t.http.post('/auth/login').send({ username, password: PASSWORD }).expect(200);
    await t.http.post('/auth/login').send({ username, password: 'wrong password' }).expect(401);
    const text = await t.metricsText();
    expect(text).toMatch(/auth_logins_total\{outcome="success",service="auth"\} [1-9]/);
    expect(text).toMatch(/auth_logins_total\{outcome="invalid_credentials",service="auth"\} [1-9]/);
    expect(text).toMatch(/auth_registrations_total\{outcome="created",service="auth"\} [1-9]/);
    await t.http.get('/metrics').expect(404);
  });
});
