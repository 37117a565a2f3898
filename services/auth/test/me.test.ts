// GET /auth/me and the ways an access token can be wrong: every one is 401
// unauthorized (problem+json, WWW-Authenticate: Bearer), never a 500.
import jwt from 'jsonwebtoken';
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { ObjectId } from 'mongodb';
import { createTestApp, registerAndLogin, useAuthHarness } from './support/auth-harness';

const t = useAuthHarness('auth_me');

function claimsFor(
  user: { userId: string; username: string },
  overrides: Record<string, unknown> = {},
) {
  const now = Math.floor(Date.now() / 1000);
  return {
    sub: user.userId,
    username: user.username,
    iss: 'parley-auth',
    aud: 'parley',
    iat: now,
    exp: now + 600,
    jti: randomUUID(),
    ...overrides,
  };
}

function signWithActiveKey(claims: object): string {
  const key = t.signingKeys.active;
  return jwt.sign(claims, key.privateKey, { algorithm: key.alg, keyid: key.kid });
}

async function expectUnauthorized(authorization: string | undefined) {
  const req = t.http.get('/auth/me');
  const res =
    authorization === undefined ? await req : await req.set('Authorization', authorization);
  expect(res.status).toBe(401);
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  expect(res.headers['www-authenticate']).toBe('Bearer');
  expect(res.body).toMatchObject({ code: 'unauthorized', status: 401 });
}

describe('GET /auth/me', () => {
  it('When the access token is valid, then 200 returns the caller', async () => {
    const user = await registerAndLogin(t.http);
    const res = await t.http.get('/auth/me').set('Authorization', `Bearer ${user.accessToken}`);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      user: {
        id: user.userId,
        username: user.username,
        displayName: user.username,
        createdAt: expect.any(String),
      },
    });
  });

  it('When a token is signed by the active key with the right claims, then it is accepted (control for the cases below)', async () => {
    const user = await registerAndLogin(t.http);
    await t.http
      .get('/auth/me')
      .set('Authorization', `Bearer ${signWithActiveKey(claimsFor(user))}`)
      .expect(200);
  });

  it('When no Authorization header is sent, then 401', async () => {
    await expectUnauthorized(undefined);
  });

  it.each([
    ['Bearer'],
    ['Bearer '],
    ['Basic dXNlcjpwYXNz'],
    ['Bearer not-a-jwt'],
    ['Bearer a.b.c'],
    ['Token abc.def.ghi'],
  ])('When the Authorization header is %p, then 401', async (header) => {
    await expectUnauthorized(header);
  });

  it('When the token has expired, then 401', async () => {
    const user = await registerAndLogin(t.http);
    const past = await createTestApp(t.mongo, t.recorder, {
      now: () => new Date(Date.now() - 3600_000),
    });
    const login = await past.http
      .post('/auth/login')
      .send({ username: user.username, password: 'correct horse battery staple' })
      .expect(200);
    await expectUnauthorized(`Bearer ${(login.body as { accessToken: string }).accessToken}`);
  });

  it('When the payload was changed after signing (forged), then 401', async () => {
    const user = await registerAndLogin(t.http);
    const victim = await registerAndLogin(t.http);
    const [header, , signature] = user.accessToken.split('.');
    const forgedPayload = Buffer.from(JSON.stringify(claimsFor(victim))).toString('base64url');
    await expectUnauthorized(`Bearer ${header}.${forgedPayload}.${signature}`);
  });

  it('When the token says alg "none" and has no signature, then 401', async () => {
    const user = await registerAndLogin(t.http);
    const header = Buffer.from(
      JSON.stringify({ alg: 'none', typ: 'JWT', kid: t.signingKeys.active.kid }),
    ).toString('base64url');
    const payload = Buffer.from(JSON.stringify(claimsFor(user))).toString('base64url');
    await expectUnauthorized(`Bearer ${header}.${payload}.`);
  });

  it('When the token is HS256-signed with the public key as the secret (algorithm confusion), then 401', async () => {
    const user = await registerAndLogin(t.http);
    const publicPem = JSON.stringify(t.signingKeys.active.publicJwk);
    const header = Buffer.from(
      JSON.stringify({ alg: 'HS256', typ: 'JWT', kid: t.signingKeys.active.kid }),
    ).toString('base64url');
    const payload = Buffer.from(JSON.stringify(claimsFor(user))).toString('base64url');
    const { createHmac } = await import('node:crypto');
    const sig = createHmac('sha256', publicPem).update(`${header}.${payload}`).digest('base64url');
    await expectUnauthorized(`Bearer ${header}.${payload}.${sig}`);
  });

  it('When the audience is another one, then 401', async () => {
    const user = await registerAndLogin(t.http);
    await expectUnauthorized(
      `Bearer ${signWithActiveKey(claimsFor(user, { aud: 'someone-else' }))}`,
    );
  });

  it('When the issuer is another one, then 401', async () => {
    const user = await registerAndLogin(t.http);
    await expectUnauthorized(`Bearer ${signWithActiveKey(claimsFor(user, { iss: 'evil-auth' }))}`);
  });

  it('When a required claim (jti) is missing, then 401', async () => {
    const user = await registerAndLogin(t.http);
    const claims: Record<string, unknown> = claimsFor(user);
    delete claims['jti'];
    await expectUnauthorized(`Bearer ${signWithActiveKey(claims)}`);
  });

  it('When the token is signed by another key that claims our kid, then 401', async () => {
    const user = await registerAndLogin(t.http);
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const token = jwt.sign(claimsFor(user), privateKey, {
      algorithm: 'RS256',
      keyid: t.signingKeys.active.kid,
    });
    await expectUnauthorized(`Bearer ${token}`);
  });

  it('When the token is signed by another key with an unknown kid, then 401', async () => {
    const user = await registerAndLogin(t.http);
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const token = jwt.sign(claimsFor(user), privateKey, {
      algorithm: 'RS256',
      keyid: 'not-a-known-kid',
    });
    await expectUnauthorized(`Bearer ${token}`);
  });

  it('When the token has no kid, then 401', async () => {
    const user = await registerAndLogin(t.http);
    const token = jwt.sign(claimsFor(user), t.signingKeys.active.privateKey, {
      algorithm: 'RS256',
    });
    await expectUnauthorized(`Bearer ${token}`);
  });

  it('When the token is valid but its user no longer exists, then 401', async () => {
    const token = signWithActiveKey(
      claimsFor({ userId: new ObjectId().toHexString(), username: 'gone' }),
    );
    await expectUnauthorized(`Bearer ${token}`);
  });
});
