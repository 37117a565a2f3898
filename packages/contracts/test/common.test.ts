import {
  codePointLength,
  createRoomRequestSchema,
  displayNameSchema,
  isEmoji,
  loginRequestSchema,
  messageTextSchema,
  registerRequestSchema,
  roomNameSchema,
  sendMessageRequestSchema,
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

// docs/design.md §9.4: names other users see hide nothing; message text keeps only \n and \t.
const HIDDEN_IN_NAMES: ReadonlyArray<[string, string[]]> = [
  [
    'control',
    ['\u0000', '\u0007', '\t', '\n', '\r', '\u001b', '\u001f', '\u007f', '\u0085', '\u009f'],
  ],
  [
    'bidi-override',
    ['\u202a', '\u202b', '\u202c', '\u202d', '\u202e', '\u2066', '\u2067', '\u2068', '\u2069'],
  ],
  ['zero-width', ['\u200b', '\u200c', '\u200d', '\u2060', '\ufeff']],
];

describe('names other users see (display names, room names)', () => {
  const hex = (c: string) =>
    `U+${(c.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0')}`;

  describe.each(HIDDEN_IN_NAMES)('%s characters', (kind, chars) => {
    it.each(chars.map((c) => [hex(c), c]))(
      `When a display name holds %s, then registration is refused naming displayName (${kind})`,
      (_code, c) => {
        const result = registerRequestSchema.safeParse({
          username: 'mallory',
          password: 'long enough',
          displayName: `ad${c}min`,
        });
        expect(result.success).toBe(false);
        expect(result.error?.issues.map((i) => i.path.join('.'))).toEqual(['displayName']);
      },
    );

    it.each(chars.map((c) => [hex(c), c]))(
      `When a room name holds %s, then creating the room is refused naming name (${kind})`,
      (_code, c) => {
        const result = createRoomRequestSchema.safeParse({ name: `evil${c}gnp.exe` });
        expect(result.success).toBe(false);
        expect(result.error?.issues.map((i) => i.path.join('.'))).toEqual(['name']);
      },
    );
  });

  it.each(['Zoë', 'Ελένη', 'محمد', '李雷', 'Bob 👍🏽', 'the-room (2)', '🇫🇷 café'])(
    'When a name is ordinary text in any script or an emoji, then it is accepted: %j',
    (name) => {
      expect(displayNameSchema.safeParse(name).success).toBe(true);
      expect(roomNameSchema.safeParse(name).success).toBe(true);
    },
  );

  it('When a name holds an emoji joined by U+200D (👨‍👩‍👧), then it is refused like any zero-width joiner', () => {
    expect(displayNameSchema.safeParse('👨‍👩‍👧').success).toBe(false);
  });
});

describe('message text', () => {
  it.each([
    ['a newline', 'line one\nline two'],
    ['a tab', 'col\tcol'],
    ['zero-width and bidi characters (text may quote anything visible)', 'a\u200bb\u202ec'],
  ])('When the text holds %s, then it is accepted', (_label, text) => {
    expect(messageTextSchema.safeParse(text).success).toBe(true);
  });

  it.each(['\u0000', '\u0007', '\r', '\u000b', '\u000c', '\u001b', '\u007f', '\u0085', '\u009f'])(
    'When the text holds control character %j, then it is refused',
    (c) => {
      const result = sendMessageRequestSchema.safeParse({ to: 'bob', text: `hi${c}there` });
      expect(result.success).toBe(false);
      expect(result.error?.issues.map((i) => i.path.join('.'))).toEqual(['text']);
      expect(result.error?.issues[0]?.message).toMatch(/control characters/);
    },
  );
});
