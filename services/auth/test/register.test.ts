// POST /auth/register: accounts, case-insensitive unique usernames, every validation
// rule, hostile bodies, and the problem+json answers of docs/design.md §2–§3.
import { PASSWORD, uniqueUsername, useAuthHarness } from './support/auth-harness';

const t = useAuthHarness('auth_register');

function expectProblem(
  res: { status: number; headers: Record<string, string>; body: unknown },
  status: number,
  code: string,
) {
  expect(res.status).toBe(status);
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  expect(res.body).toMatchObject({
    status,
    code,
    type: expect.any(String),
    title: expect.any(String),
    detail: expect.any(String),
  });
}

describe('POST /auth/register', () => {
  it('When a new username registers, then 201 returns the public user with displayName defaulting to the username', async () => {
    // Arrange
    const username = uniqueUsername();
    // Act
    const res = await t.http.post('/auth/register').send({ username, password: PASSWORD });
    // Assert
    expect(res.status).toBe(201);
    expect(res.body).toEqual({
      user: {
        id: expect.stringMatching(/^[0-9a-f]{24}$/),
        username,
        displayName: username,
        createdAt: expect.any(String),
      },
    });
    const body = res.body as { user: { createdAt: string } };
    expect(new Date(body.user.createdAt).toISOString()).toBe(body.user.createdAt);
  });

  it('When the username has upper-case letters and a displayName is given, then it is stored lower-case and the displayName kept (trimmed)', async () => {
    const username = uniqueUsername('Mixed');
    const res = await t.http.post('/auth/register').send({
      username: username.toUpperCase(),
      password: PASSWORD,
      displayName: '  Zoë Ünïcode 🎉 ',
    });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      user: { username: username.toLowerCase(), displayName: 'Zoë Ünïcode 🎉' },
    });
  });

  it('When the same username registers again in another case, then 409 username_taken', async () => {
    const username = uniqueUsername();
    await t.http.post('/auth/register').send({ username, password: PASSWORD }).expect(201);
    const res = await t.http
      .post('/auth/register')
      .send({ username: username.toUpperCase(), password: 'another password' });
    expectProblem(res, 409, 'username_taken');
  });

  it('When two registrations of one username race, then exactly one gets 201 and the others 409', async () => {
    const username = uniqueUsername();
    const results = await Promise.all(
      [username, username.toUpperCase(), username, username.toUpperCase()].map((name) =>
        t.http.post('/auth/register').send({ username: name, password: PASSWORD }),
      ),
    );
    expect(results.map((r) => r.status).sort()).toEqual([201, 409, 409, 409]);
  });

  it.each([
    ['username too short', { username: 'ab', password: PASSWORD }, 'username'],
    ['username too long', { username: 'a'.repeat(33), password: PASSWORD }, 'username'],
    ['username with a space', { username: 'bad name', password: PASSWORD }, 'username'],
    ['username with a slash', { username: 'bad/name', password: PASSWORD }, 'username'],
    ['username with non-ASCII', { username: 'zoë123', password: PASSWORD }, 'username'],
    ['username missing', { password: PASSWORD }, 'username'],
    ['username not a string', { username: 12345, password: PASSWORD }, 'username'],
    ['password too short', { username: 'valid_name', password: '1234567' }, 'password'],
    ['password too long', { username: 'valid_name', password: 'x'.repeat(129) }, 'password'],
    ['password missing', { username: 'valid_name' }, 'password'],
    [
      'displayName empty',
      { username: 'valid_name', password: PASSWORD, displayName: '' },
      'displayName',
    ],
    [
      'displayName only whitespace',
      { username: 'valid_name', password: PASSWORD, displayName: '   ' },
      'displayName',
    ],
    [
      'displayName too long',
      { username: 'valid_name', password: PASSWORD, displayName: 'd'.repeat(65) },
      'displayName',
    ],
    ['an unknown field', { username: 'valid_name', password: PASSWORD, isAdmin: true }, 'isAdmin'],
    ['an operator object as username', { username: { $gt: '' }, password: PASSWORD }, 'username'],
    [
      'an operator object as password',
      { username: 'valid_name', password: { $ne: null } },
      'password',
    ],
    [
      'a right-to-left override in the display name',
      { username: 'valid_name', password: PASSWORD, displayName: 'evil\u202egnp.exe' },
      'displayName',
    ],
    [
      'a zero-width space in the display name',
      { username: 'valid_name', password: PASSWORD, displayName: 'ad\u200bmin' },
      'displayName',
    ],
    [
      'a control character in the display name',
      { username: 'valid_name', password: PASSWORD, displayName: 'bell\u0007' },
      'displayName',
    ],
  ])(
    'When the body has %s, then 400 validation_failed names the field',
    async (_case, body, path) => {
      const res = await t.http.post('/auth/register').send(body);
      expectProblem(res, 400, 'validation_failed');
      const errors = (res.body as { errors: { path: string }[] }).errors;
      expect(errors.map((e) => e.path)).toContain(path);
    },
  );

  it('When a validation fails, then no account is created', async () => {
    const username = uniqueUsername();
    await t.http.post('/auth/register').send({ username, password: 'short' }).expect(400);
    expect(await t.mongo.db.collection('users').countDocuments({ username })).toBe(0);
  });

  it('When the body is a JSON array, then 400 and nothing is stored', async () => {
    const res = await t.http
      .post('/auth/register')
      .set('content-type', 'application/json')
      .send('[]');
    expect(res.status).toBe(400);
    expect((res.body as { code: string }).code).toMatch(/^(validation_failed|malformed_json)$/);
  });

  it('When the body is malformed JSON, then 400 malformed_json', async () => {
    const res = await t.http
      .post('/auth/register')
      .set('content-type', 'application/json')
      .send('{"username": "abc",');
    expectProblem(res, 400, 'malformed_json');
  });

  it('When the body is not JSON (form encoded), then 415 unsupported_media_type', async () => {
    const res = await t.http
      .post('/auth/register')
      .type('form')
      .send({ username: uniqueUsername(), password: PASSWORD });
    expectProblem(res, 415, 'unsupported_media_type');
  });

  it('When the body is text/plain, then 415 unsupported_media_type', async () => {
    const res = await t.http.post('/auth/register').set('content-type', 'text/plain').send('hello');
    expectProblem(res, 415, 'unsupported_media_type');
  });

  it('When the body is larger than the limit, then 413 payload_too_large', async () => {
    const res = await t.http
      .post('/auth/register')
      .send({ username: uniqueUsername(), password: PASSWORD, displayName: 'x'.repeat(200_000) });
    expectProblem(res, 413, 'payload_too_large');
  });

  it('When there is no body at all, then 400 validation_failed', async () => {
    const res = await t.http.post('/auth/register');
    expectProblem(res, 400, 'validation_failed');
  });

  it('When registration succeeds, then the stored password is a bcrypt hash, never the password', async () => {
    const username = uniqueUsername();
    await t.http.post('/auth/register').send({ username, password: PASSWORD }).expect(201);
    const stored = await t.mongo.db.collection('users').findOne({ username });
    expect(stored?.['passwordHash']).toMatch(/^\$2b\$04\$/);
    expect(JSON.stringify(stored)).not.toContain(PASSWORD);
  });
});
