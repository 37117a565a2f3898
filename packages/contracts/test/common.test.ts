import {
  codePointLength,
  isEmoji,
  loginRequestSchema,
  registerRequestSchema,
  usernameSchema,
} from '@parley/contracts';

describe('username rules', () => {
  it.each(['abc', 'a.b', 'a_b-c', 'x'.repeat(32), '123'])('accepts %s', (name) => {
    expect(usernameSchema.safeParse(name).success).toBe(true);
  });

  it.each(['ab', 'x'.repeat(33), 'has space', 'émile', 'a/b', 'a$b', '', 'alice\n'])(
    'refuses %j',
    (name) => {
      expect(usernameSchema.safeParse(name).success).toBe(false);
    },
  );

  it('normalises to lower case, so Alice and alice are the same user', () => {
    expect(usernameSchema.parse('AlIcE')).toBe('alice');
  });

  it('refuses a MongoDB operator object in place of a string', () => {
    expect(usernameSchema.safeParse({ $gt: '' }).success).toBe(false);
  });
});

describe('registration body', () => {
  it('accepts a valid body and trims the display name', () => {
    const body = registerRequestSchema.parse({
      username: 'Bob',
      password: 'correct horse',
      displayName: '  Bob B  ',
    });
    expect(body).toEqual({ username: 'bob', password: 'correct horse', displayName: 'Bob B' });
  });

  it.each([
    ['a short password', { username: 'bob', password: 'short' }],
    ['a password over 128 characters', { username: 'bob', password: 'p'.repeat(129) }],
    ['an unknown field', { username: 'bob', password: 'long enough', isAdmin: true }],
    [
      'a prototype-pollution key',
      JSON.parse('{"username":"bob","password":"long enough","__proto__":{"x":1}}'),
    ],
    [
      'a whitespace-only display name',
      { username: 'bob', password: 'long enough', displayName: '   ' },
    ],
    ['an operator object as password', { username: 'bob', password: { $ne: null } }],
  ])('refuses %s', (_label, body) => {
    expect(registerRequestSchema.safeParse(body).success).toBe(false);
  });

  it('names the offending field in the issue path', () => {
    const result = registerRequestSchema.safeParse({ username: 'bob', password: 'x' });
    expect(result.success).toBe(false);
    expect(result.error?.issues.map((i) => i.path.join('.'))).toEqual(['password']);
  });
});

describe('login body', () => {
  it('lower-cases the username so login is case-insensitive', () => {
    expect(loginRequestSchema.parse({ username: 'BOB', password: 'whatever' }).username).toBe(
      'bob',
    );
  });

  it('refuses operator objects in either field', () => {
    expect(loginRequestSchema.safeParse({ username: 'bob', password: { $gt: '' } }).success).toBe(
      false,
    );
    expect(
      loginRequestSchema.safeParse({ username: { $regex: '.*' }, password: 'x' }).success,
    ).toBe(false);
  });
});

describe('code points', () => {
  it('counts an astral emoji as one character', () => {
    expect(codePointLength('a😀b')).toBe(3);
  });
});

describe('reaction emoji', () => {
  it.each(['👍', '👍🏽', '🇫🇷', '❤️', '👨‍👩‍👧', ':thumbsup:', ':+1:'])('accepts %s', (e) => {
    expect(isEmoji(e)).toBe(true);
  });

  it.each(['', 'a', '👍👍', 'thumbs', ':bad shortcode:', '$where', 'a.b', '👍 '])(
    'refuses %j',
    (e) => {
      expect(isEmoji(e)).toBe(false);
    },
  );
});
