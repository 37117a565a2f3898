import {
  EVENT_TYPES,
  clientFrameSchema,
  createEvent,
  eventEnvelopeSchema,
  readEvent,
  serverFrameSchema,
  type Message,
} from '@parley/contracts';

const message: Message = {
  id: 'm1',
  conversationId: 'c1',
  seq: 1,
  sender: { id: 'u1', username: 'alice' },
  text: 'hi',
  reactions: {},
  createdAt: new Date(0).toISOString(),
};

describe('events', () => {
  it('lists every event type of the contract', () => {
    expect([...EVENT_TYPES].sort()).toEqual([
      'conversation_updated',
      'message_updated',
      'new_message',
      'presence',
      'presence_digest',
      'presence_snapshot',
      'reaction',
      'read',
      'session_revoked',
      'typing',
    ]);
  });

  it('When auth revokes every session of a user, then session_revoked names the user and the cut-off time', () => {
    const event = createEvent(
      'session_revoked',
      { userId: 'u1', revokedAt: new Date(0).toISOString() },
      ['u1'],
    );
    const read = readEvent(eventEnvelopeSchema.parse(JSON.parse(JSON.stringify(event))));
    expect(read).toMatchObject({ kind: 'event', event: { type: 'session_revoked' } });
    const bad = readEvent(eventEnvelopeSchema.parse({ ...event, data: { userId: 'u1' } }));
    expect(bad.kind).toBe('invalid');
  });

  it('round-trips a created event through JSON and reads it back as known', () => {
    const event = createEvent(
      'new_message',
      { message, conversation: { id: 'c1', kind: 'direct' } },
      ['u1', 'u2'],
    );
    const envelope = eventEnvelopeSchema.parse(JSON.parse(JSON.stringify(event)));
    const result = readEvent(envelope);
    expect(result.kind).toBe('event');
    expect(result.kind === 'event' && result.event).toEqual(event);
  });

  it('treats an unknown type or a newer version as unknown, to be ignored', () => {
    const base = createEvent('read', { conversationId: 'c1', userId: 'u1', seq: 3 }, ['u1']);
    expect(readEvent({ ...base, type: 'future_thing' }).kind).toBe('unknown');
    expect(readEvent({ ...base, version: 2 }).kind).toBe('unknown');
  });

  it('treats a known type with bad data as invalid, to be dead-lettered', () => {
    const base = createEvent('read', { conversationId: 'c1', userId: 'u1', seq: 3 }, ['u1']);
    expect(readEvent({ ...base, data: { conversationId: 'c1' } }).kind).toBe('invalid');
  });

  it('refuses an envelope without a uuid id', () => {
    const base = createEvent(
      'typing',
      { conversationId: 'c', user: { id: 'u', username: 'a' }, isTyping: true },
      [],
    );
    expect(eventEnvelopeSchema.safeParse({ ...base, id: 'not-a-uuid' }).success).toBe(false);
  });
});

describe('client frames', () => {
  it('parses a send frame', () => {
    expect(clientFrameSchema.parse({ type: 'send', ref: 'r1', to: 'Bob', text: 'yo' })).toEqual({
      type: 'send',
      ref: 'r1',
      to: 'bob',
      text: 'yo',
    });
  });

  it.each([
    ['an unknown type', { type: 'shutdown' }],
    [
      'a send with both targets',
      { type: 'send', ref: 'r', to: 'bob', conversationId: 'c', text: 'x' },
    ],
    ['a send without ref', { type: 'send', to: 'bob', text: 'x' }],
    ['an unknown field', { type: 'ping', extra: 1 }],
    ['a resume with a negative seq', { type: 'resume', conversations: { c1: -1 } }],
    ['a typing frame without isTyping', { type: 'typing', conversationId: 'c' }],
  ])('refuses %s', (_label, frame) => {
    expect(clientFrameSchema.safeParse(frame).success).toBe(false);
  });

  it('accepts a resume map of conversation ids to last seen seq', () => {
    expect(
      clientFrameSchema.safeParse({ type: 'resume', conversations: { c1: 0, c2: 10 } }).success,
    ).toBe(true);
  });
});

describe('server frames', () => {
  it('parses each frame the server sends', () => {
    const frames = [
      { type: 'ready', userId: 'u', username: 'a', connectionId: 'k' },
      { type: 'message', message, conversation: { id: 'c1', kind: 'room', name: 'general' } },
      { type: 'ack', ref: 'r', message },
      { type: 'resumed', complete: false },
      { type: 'pong' },
      { type: 'error', code: 'malformed_frame', message: 'not JSON' },
      { type: 'presence', userId: 'u', status: 'online' },
    ];
    for (const frame of frames) expect(serverFrameSchema.parse(frame)).toEqual(frame);
  });

  it('refuses an error frame with an unknown code', () => {
    expect(serverFrameSchema.safeParse({ type: 'error', code: 'oops', message: 'x' }).success).toBe(
      false,
    );
  });
});

describe('abuse limits in the contract (docs/design.md §4.14)', () => {
  it('refuses a resume naming more than 100 conversations, and accepts one with a ref', () => {
    const named = (n: number) =>
      Object.fromEntries(Array.from({ length: n }, (_, i) => [`c${i}`, 0]));
    expect(clientFrameSchema.safeParse({ type: 'resume', conversations: named(101) }).success).toBe(
      false,
    );
    expect(
      clientFrameSchema.parse({ type: 'resume', ref: 'r-1', conversations: named(100) }),
    ).toMatchObject({ ref: 'r-1' });
  });

  it('carries an edit without reactions and a reaction as the one change', () => {
    const edit = serverFrameSchema.parse({
      type: 'message_updated',
      message: { ...message, text: 'edited', editedAt: new Date(0).toISOString() },
    });
    expect(edit).toEqual({
      type: 'message_updated',
      message: {
        id: 'm1',
        conversationId: 'c1',
        seq: 1,
        text: 'edited',
        editedAt: new Date(0).toISOString(),
      },
    });
    const change = {
      messageId: 'm1',
      conversationId: 'c1',
      emoji: '👍',
      userId: 'u2',
      added: true,
    };
    expect(serverFrameSchema.parse({ type: 'reaction', ...change })).toEqual({
      type: 'reaction',
      ...change,
    });
    expect(readEvent(createEvent('reaction', change, ['u1'])).kind).toBe('event');
  });

  it('lets presence be unknown to a watcher, never on the bus', () => {
    expect(
      serverFrameSchema.parse({ type: 'presence', userId: 'u1', status: 'unknown' }),
    ).toMatchObject({
      status: 'unknown',
    });
    const bus = createEvent('presence', { userId: 'u1', status: 'online', instanceId: 'i' }, []);
    expect(readEvent({ ...bus, data: { ...bus.data, status: 'unknown' } }).kind).toBe('invalid');
  });
});
