// GET /users/:username and GET /users?ids=: lookups for authenticated callers.
import { ObjectId } from 'mongodb';
import { registerAndLogin, uniqueUsername, useAuthHarness } from './support/auth-harness';

const t = useAuthHarness('auth_users');
let caller: Awaited<ReturnType<typeof registerAndLogin>>;

beforeAll(async () => {
  caller = await registerAndLogin(t.http);
});

const bearer = () => `Bearer ${caller.accessToken}`;

describe('GET /users/:username', () => {
  it('When the user exists, then 200 returns the public user (any case of the name)', async () => {
    const other = await registerAndLogin(t.http);
    const res = await t.http
      .get(`/users/${other.username.toUpperCase()}`)
      .set('Authorization', bearer());
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      user: {
        id: other.userId,
        username: other.username,
        displayName: other.username,
        createdAt: expect.any(String),
      },
    });
  });

  it('When the user does not exist, then 404 user_not_found', async () => {
    const res = await t.http
      .get(`/users/${uniqueUsername('nobody')}`)
      .set('Authorization', bearer());
    expect(res.status).toBe(404);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.body).toMatchObject({ code: 'user_not_found' });
  });

  it('When the name looks like an operator, then it is just an unknown name (404)', async () => {
    const res = await t.http
      .get('/users/%7B%22%24gt%22%3A%22%22%7D')
      .set('Authorization', bearer());
    expect(res.status).toBe(404);
  });

  it('When there is no bearer token, then 401', async () => {
    await t.http.get(`/users/${caller.username}`).expect(401);
  });
});

describe('GET /users?ids=', () => {
  it('When known, unknown and malformed ids are asked for, then only the known users come back', async () => {
    const a = await registerAndLogin(t.http);
    const b = await registerAndLogin(t.http);
    const ids = [a.userId, new ObjectId().toHexString(), 'not-an-object-id', b.userId, '123'].join(
      ',',
    );
    const res = await t.http.get(`/users?ids=${ids}`).set('Authorization', bearer());
    expect(res.status).toBe(200);
    const users = (res.body as { users: { id: string; username: string }[] }).users;
    expect(users.map((u) => u.id).sort()).toEqual([a.userId, b.userId].sort());
    expect(users.find((u) => u.id === a.userId)).toMatchObject({ username: a.username });
  });

  it('When every id is unknown, then 200 with an empty list', async () => {
    const res = await t.http
      .get(`/users?ids=${new ObjectId().toHexString()}`)
      .set('Authorization', bearer());
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ users: [] });
  });

  it('When ids is missing or empty, then 400 validation_failed', async () => {
    for (const query of ['', '?ids=', '?ids=,,']) {
      const res = await t.http.get(`/users${query}`).set('Authorization', bearer());
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({ code: 'validation_failed' });
    }
  });

  it('When more than 100 ids are asked for, then 400 validation_failed', async () => {
    const ids = Array.from({ length: 101 }, () => new ObjectId().toHexString()).join(',');
    const res = await t.http.get(`/users?ids=${ids}`).set('Authorization', bearer());
    expect(res.status).toBe(400);
  });

  it('When ids is given twice, then 400 validation_failed rather than a 500', async () => {
    const res = await t.http
      .get(`/users?ids=${caller.userId}&ids=${caller.userId}`)
      .set('Authorization', bearer());
    expect(res.status).toBe(400);
  });

  it('When there is no bearer token, then 401', async () => {
    await t.http.get(`/users?ids=${caller.userId}`).expect(401);
  });
});
