import { groupMessages } from '../src/model/message-groups';
import { ana, ben, message } from './fixtures';

const at = (iso: string) => ({ createdAt: iso });
const utc = { timeZone: 'UTC' };

describe('grouping the main list', () => {
  test('When one sender writes several messages within five minutes, then they share one group', () => {
    const rows = groupMessages(
      [
        message(1, at('2026-11-21T12:00:00Z')),
        message(2, at('2026-11-21T12:04:00Z')),
        message(3, { ...at('2026-11-21T12:04:30Z'), sender: ben }),
        message(4, { ...at('2026-11-21T12:05:00Z'), sender: ben }),
        message(5, { ...at('2026-11-21T12:20:00Z'), sender: ben }),
      ],
      utc,
    );
    expect(rows.map((r) => (r.kind === 'group' ? r.messages.map((m) => m.seq) : r.kind))).toEqual([
      'day',
      [1, 2],
      [3, 4],
      [5],
    ]);
  });

  test('When the date changes, then a day row separates the messages even from the same sender', () => {
    const rows = groupMessages(
      [message(1, at('2026-11-20T23:59:00Z')), message(2, at('2026-11-21T00:01:00Z'))],
      utc,
    );
    expect(rows.map((r) => r.kind)).toEqual(['day', 'group', 'day', 'group']);
  });

  test('When there are unread messages from others, then one unread line sits above the first of them', () => {
    const rows = groupMessages(
      [
        message(1, { sender: ben }),
        message(2, { sender: ana }),
        message(3, { sender: ben }),
        message(4, { sender: ben }),
      ],
      { ...utc, lastReadSeq: 1, meId: ana.id },
    );
    const kinds = rows.map((r) => (r.kind === 'group' ? r.messages.map((m) => m.seq) : r.kind));
    expect(kinds).toEqual(['day', [1], [2], 'unread', [3, 4]]);
  });

  test('When I wrote after the read marker, then only messages after mine count as new', () => {
    const rows = groupMessages(
      [message(1, { sender: ben }), message(2, { sender: ana }), message(3, { sender: ben })],
      { ...utc, lastReadSeq: 0, meId: ana.id },
    );
    const kinds = rows.map((r) => (r.kind === 'group' ? r.messages.map((m) => m.seq) : r.kind));
    expect(kinds).toEqual(['day', [1], [2], 'unread', [3]]);
  });

  test('When everything is read, then no unread line is shown', () => {
    const rows = groupMessages([message(1, { sender: ben })], {
      ...utc,
      lastReadSeq: 1,
      meId: ana.id,
    });
    expect(rows.some((r) => r.kind === 'unread')).toBe(false);
  });
});
