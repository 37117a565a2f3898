import {
  applyMessage,
  applyMessageUpdate,
  applyOwnRead,
  badgeOf,
  conversationTitle,
  filterConversations,
  previewOf,
  sortConversations,
  totalBadge,
} from '../src/model/conversation-list';
import { ana, ben, cal, message, summary } from './fixtures';

const NOW = '2026-11-21T12:00:00.000Z';

describe('conversation list', () => {
  test('When a message from someone else arrives past my read marker, then the unread count goes up by one', () => {
    const before = summary({ lastSeq: 4, lastReadSeq: 4 });
    const after = applyMessage(before, message(5, { sender: ben }), ana.id);
    expect(after).toMatchObject({ lastSeq: 5, unreadCount: 1, lastMessage: { seq: 5 } });
  });

  test('When the same message is applied twice (list loaded after it arrived), then it is counted once', () => {
    const listed = summary({ lastSeq: 5, lastReadSeq: 4, unreadCount: 1 });
    expect(applyMessage(listed, message(5, { sender: ben }), ana.id).unreadCount).toBe(1);
  });

  test('When I send a message, then the conversation counts as read up to it', () => {
    const before = summary({ lastSeq: 6, lastReadSeq: 3, unreadCount: 3 });
    expect(applyMessage(before, message(7, { sender: ana }), ana.id)).toMatchObject({
      unreadCount: 0,
      lastReadSeq: 7,
      lastSeq: 7,
    });
  });

  test('When my read marker moves, then the count drops to what lies above it', () => {
    const c = summary({ lastSeq: 10, lastReadSeq: 2, unreadCount: 8 });
    expect(applyOwnRead(c, 10).unreadCount).toBe(0);
    expect(applyOwnRead(c, 7).unreadCount).toBe(3);
    expect(applyOwnRead(c, 1)).toBe(c);
  });

  test('When the last message is edited or deleted, then the preview follows', () => {
    const last = message(3, { sender: ben, text: 'old' });
    const c = summary({ lastSeq: 3, lastMessage: last });
    const deleted = applyMessageUpdate(c, { ...last, text: '', deletedAt: '2026-11-21T12:00:09Z' });
    expect(previewOf(deleted, ana.id)).toBe('Message deleted');
    expect(applyMessageUpdate(c, message(2))).toBe(c);
  });

  test('When conversations are listed, then the newest activity comes first', () => {
    const older = summary({
      id: 'a',
      lastMessage: message(1, { createdAt: '2026-11-21T09:00:00Z' }),
    });
    const newer = summary({
      id: 'b',
      lastMessage: message(1, { createdAt: '2026-11-21T11:00:00Z' }),
    });
    const empty = summary({ id: 'c', updatedAt: '2026-11-21T10:00:00Z' });
    expect(sortConversations([older, newer, empty]).map((c) => c.id)).toEqual(['b', 'c', 'a']);
  });

  test('When a direct conversation is named, then it takes the other member’s display name', () => {
    const dm = summary({ members: [ana, ben] });
    expect(conversationTitle(dm, ana.id)).toBe('ben');
    expect(
      conversationTitle(dm, ana.id, {
        [ben.id]: {
          id: ben.id,
          username: 'ben',
          displayName: 'Ben Ortiz',
          createdAt: '2026-01-01T00:00:00Z',
        },
      }),
    ).toBe('Ben Ortiz');
    expect(conversationTitle(summary({ kind: 'room', name: 'general' }), ana.id)).toBe('general');
  });

  test('When the list is filtered, then titles and direct partners’ usernames match', () => {
    const list = [
      summary({ id: 'dm', members: [ana, cal] }),
      summary({ id: 'room', kind: 'room', name: 'Design', members: [ana, ben] }),
    ];
    expect(filterConversations(list, 'CAL', ana.id).map((c) => c.id)).toEqual(['dm']);
    expect(filterConversations(list, 'des', ana.id).map((c) => c.id)).toEqual(['room']);
    expect(filterConversations(list, ' ', ana.id)).toHaveLength(2);
  });

  test('When conversations have unread messages and mentions, then badges and the total carry both', () => {
    const list = [
      summary({ unreadCount: 2 }),
      summary({ id: 'c2', unreadCount: 4, mentionCount: 2 }),
    ];
    expect(badgeOf(list[0]!)).toEqual({ unread: 2, mentions: 0 });
    expect(badgeOf(list[1]!)).toEqual({ unread: 4, mentions: 2 });
    expect(totalBadge(list, Date.parse(NOW))).toEqual({ unread: 6, mentions: 2 });
  });

  test('When a conversation is muted, then its unread messages leave the total but its mentions stay', () => {
    const list = [
      summary({ unreadCount: 2 }),
      summary({ id: 'c2', unreadCount: 4, mentionCount: 1, muted: true }),
      summary({ id: 'c3', unreadCount: 3, muted: true, mutedUntil: '2026-11-21T11:00:00.000Z' }),
    ];
    // c3's mute ended at 11:00: it counts again
    expect(totalBadge(list, Date.parse(NOW))).toEqual({ unread: 5, mentions: 1 });
  });

  test('When a room’s last message is previewed, then the sender is named; mine say "You"', () => {
    const room = summary({
      kind: 'room',
      name: 'x',
      lastSeq: 1,
      lastMessage: message(1, { sender: ben, text: 'hello\nall' }),
    });
    expect(previewOf(room, ana.id)).toBe('ben: hello all');
    expect(
      previewOf({ ...room, lastMessage: message(1, { sender: ana, text: 'yo' }) }, ana.id),
    ).toBe('You: yo');
  });
});
