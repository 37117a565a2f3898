import {
  MESSAGE_TEXT_MAX,
  createRoomRequestSchema,
  historyQuerySchema,
  readRequestSchema,
  sendMessageRequestSchema,
} from '@parley/contracts';

describe('send body', () => {
  it('accepts a direct send and lower-cases the recipient', () => {
    expect(sendMessageRequestSchema.parse({ to: 'Bob', text: 'hi' })).toEqual({
      to: 'bob',
      text: 'hi',
    });
  });

  it('accepts a send into a conversation with a clientMsgId and a parent', () => {
    const body = { conversationId: 'c1', text: 'hi', clientMsgId: 'm-1', parentId: 'p1' };
    expect(sendMessageRequestSchema.parse(body)).toEqual(body);
  });

  it.each([
    ['neither to nor conversationId', { text: 'hi' }],
    ['both to and conversationId', { to: 'bob', conversationId: 'c1', text: 'hi' }],
  ])('refuses %s', (_label, body) => {
    const result = sendMessageRequestSchema.safeParse(body);
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.message).toBe('give exactly one of to or conversationId');
  });

  it(`accepts exactly ${MESSAGE_TEXT_MAX} characters, counting emoji as one`, () => {
    expect(
      sendMessageRequestSchema.safeParse({ to: 'bob', text: '😀'.repeat(MESSAGE_TEXT_MAX) })
        .success,
    ).toBe(true);
  });

  it.each([
    ['empty text', ''],
    ['whitespace-only text', ' \n\t '],
    ['text over the limit', 'x'.repeat(MESSAGE_TEXT_MAX + 1)],
    ['a lone surrogate', 'a\ud800b'],
  ])('refuses %s', (_label, text) => {
    expect(sendMessageRequestSchema.safeParse({ to: 'bob', text }).success).toBe(false);
  });

  it('refuses unknown fields instead of storing them', () => {
    expect(
      sendMessageRequestSchema.safeParse({ to: 'bob', text: 'hi', sender: 'mallory' }).success,
    ).toBe(false);
  });

  it('refuses operator objects as ids', () => {
    expect(
      sendMessageRequestSchema.safeParse({ conversationId: { $ne: '' }, text: 'hi' }).success,
    ).toBe(false);
  });

  it('refuses a clientMsgId with spaces or over 128 characters', () => {
    expect(
      sendMessageRequestSchema.safeParse({ to: 'bob', text: 'hi', clientMsgId: 'a b' }).success,
    ).toBe(false);
    expect(
      sendMessageRequestSchema.safeParse({ to: 'bob', text: 'hi', clientMsgId: 'x'.repeat(129) })
        .success,
    ).toBe(false);
  });
});

describe('history query', () => {
  it('defaults the limit to 50 and parses cursors as numbers', () => {
    expect(historyQuerySchema.parse({ with: 'Bob', after: '7' })).toEqual({
      with: 'bob',
      after: 7,
      limit: 50,
    });
  });

  it.each([
    ['no target', {}],
    ['both targets', { with: 'bob', conversationId: 'c' }],
    ['both cursors', { conversationId: 'c', before: '5', after: '2' }],
    ['a limit of 0', { conversationId: 'c', limit: '0' }],
    ['a limit of 101', { conversationId: 'c', limit: '101' }],
    ['a negative cursor', { conversationId: 'c', before: '-1' }],
    ['a non-numeric cursor', { conversationId: 'c', after: '1e3' }],
    ['an empty limit', { conversationId: 'c', limit: '' }],
    ['a repeated parameter (array)', { conversationId: 'c', limit: ['1', '2'] }],
  ])('refuses %s', (_label, query) => {
    expect(historyQuerySchema.safeParse(query).success).toBe(false);
  });
});

describe('rooms and read markers', () => {
  it('defaults a room to public with no extra members', () => {
    expect(createRoomRequestSchema.parse({ name: ' general ' })).toEqual({
      name: 'general',
      isPrivate: false,
      members: [],
    });
  });

  it('refuses a fractional or negative read seq', () => {
    expect(readRequestSchema.safeParse({ seq: 1.5 }).success).toBe(false);
    expect(readRequestSchema.safeParse({ seq: -1 }).success).toBe(false);
  });
});
