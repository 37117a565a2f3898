import { applyRead, seenBy } from '../src/model/read-receipts';
import {
  applyTyping,
  clearTypist,
  nextExpiry,
  shouldSendTyping,
  typingLabel,
  typists,
  TYPING_TTL_MS,
} from '../src/model/typing-state';
import { attachmentsOf, isInlineImage } from '../src/model/attachments';
import { mentionsUser } from '../src/model/mentions';
import { textRuns } from '../src/model/rich-text';
import { ana, ben, cal, message } from './fixtures';

describe('typing indicator', () => {
  test('When a typing frame arrives, then the typist shows until it expires or they stop', () => {
    let state = applyTyping({}, { conversationId: 'c1', user: ben, isTyping: true }, 1_000);
    expect(typists(state, 'c1', 1_500)).toEqual([ben]);
    expect(typists(state, 'c1', 1_000 + TYPING_TTL_MS)).toEqual([]);
    expect(nextExpiry(state, 1_500)).toBe(1_000 + TYPING_TTL_MS);
    state = applyTyping(state, { conversationId: 'c1', user: ben, isTyping: false }, 2_000);
    expect(typists(state, 'c1', 2_000)).toEqual([]);
  });

  test('When the typist’s message arrives, then they are no longer typing', () => {
    const state = applyTyping({}, { conversationId: 'c1', user: ben, isTyping: true }, 0);
    expect(typists(clearTypist(state, 'c1', ben.id), 'c1', 1)).toEqual([]);
  });

  test('When several people type, then the label names two and counts the rest', () => {
    expect(typingLabel(['Ana'])).toBe('Ana is typing…');
    expect(typingLabel(['Ana', 'Ben'])).toBe('Ana and Ben are typing…');
    expect(typingLabel(['Ana', 'Ben', 'Cal', 'Dee'])).toBe('Ana, Ben and 2 others are typing…');
  });

  test('When I keep typing, then a typing frame goes out at most every two seconds', () => {
    expect(shouldSendTyping(undefined, 0)).toBe(true);
    expect(shouldSendTyping(0, 1_999)).toBe(false);
    expect(shouldSendTyping(0, 2_000)).toBe(true);
  });
});

describe('read receipts', () => {
  test('When others’ read markers pass my latest message, then it is seen by them', () => {
    const messages = [
      message(1, { sender: ana }),
      message(2, { sender: ben }),
      message(3, { sender: ana }),
    ];
    let state = applyRead({}, { conversationId: 'c1', userId: ben.id, seq: 3 });
    state = applyRead(state, { conversationId: 'c1', userId: cal.id, seq: 2 });
    expect(seenBy(state, 'c1', messages, [ana, ben, cal], ana.id)).toEqual({
      message: messages[2],
      readers: [ben],
    });
  });

  test('When a read marker would move backwards, then it stays', () => {
    const state = applyRead({}, { conversationId: 'c1', userId: ben.id, seq: 5 });
    expect(applyRead(state, { conversationId: 'c1', userId: ben.id, seq: 3 })).toBe(state);
  });
});

describe('mentions and attachments on messages', () => {
  test('When messages carry no mentions or attachments, then none are shown', () => {
    expect(mentionsUser(message(1, { text: '@ana hi' }), ana.id)).toBe(false);
    expect(attachmentsOf(message(1))).toEqual([]);
  });

  test('When a message carries mentions and attachments, then they are read from it', () => {
    const m = {
      ...message(1, { mentions: [ana] }),
      attachments: [
        { id: 'a1', name: 'cat.png', contentType: 'image/png', size: 10, sha256: 'a'.repeat(64) },
      ],
    };
    expect(mentionsUser(m, ana.id)).toBe(true);
    expect(mentionsUser(m, ben.id)).toBe(false);
    expect(attachmentsOf(m).map(isInlineImage)).toEqual([true]);
    expect(isInlineImage({ contentType: 'image/svg+xml' })).toBe(false);
  });
});

describe('message text', () => {
  test('When text has links, then they become links and trailing punctuation stays text', () => {
    expect(textRuns('see https://example.com/a?b=1. ok')).toEqual([
      { kind: 'text', text: 'see ' },
      { kind: 'link', text: 'https://example.com/a?b=1', href: 'https://example.com/a?b=1' },
      { kind: 'text', text: '. ok' },
    ]);
    expect(textRuns('javascript:alert(1)')).toEqual([
      { kind: 'text', text: 'javascript:alert(1)' },
    ]);
  });

  test('When an @name was not listed as a mention by the server, then it stays plain text', () => {
    expect(textRuns('hi @ana')).toEqual([{ kind: 'text', text: 'hi @ana' }]);
    expect(textRuns('hi @Ana!', new Set(['ana']), 'ana')).toEqual([
      { kind: 'text', text: 'hi ' },
      { kind: 'mention', text: '@Ana', username: 'ana', isMe: true },
      { kind: 'text', text: '!' },
    ]);
    expect(textRuns('thanks @ana.', new Set(['ana']))).toEqual([
      { kind: 'text', text: 'thanks ' },
      { kind: 'mention', text: '@ana', username: 'ana', isMe: false },
      { kind: 'text', text: '.' },
    ]);
  });
});
