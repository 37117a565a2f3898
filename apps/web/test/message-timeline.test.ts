import {
  emptyTimeline,
  mergeMessages,
  replySummaries,
  rootMessages,
  threadOf,
  toggledReactions,
  withHistoryPage,
  withMessages,
  withPending,
  type PendingSend,
} from '../src/model/message-timeline';
import { ben, message } from './fixtures';

const pending = (ref: string, text = 'hi'): PendingSend => ({
  ref,
  text,
  createdAt: '2026-11-21T12:00:00.000Z',
  state: 'sending',
});

describe('message timeline', () => {
  test('When pages and live messages overlap and arrive out of order, then each id is kept once in seq order', () => {
    const merged = mergeMessages(
      mergeMessages(
        [message(3), message(1)].sort((a, b) => a.seq - b.seq),
        [message(2), message(3)],
      ),
      [message(5), message(4), message(1)],
    );
    expect(merged.map((m) => m.seq)).toEqual([1, 2, 3, 4, 5]);
  });

  test('When an edited copy arrives, then it replaces the old one in place', () => {
    const edited = message(2, { text: 'fixed', editedAt: '2026-11-21T12:05:00.000Z' });
    const merged = mergeMessages([message(1), message(2), message(3)], [edited]);
    expect(merged.map((m) => m.text)).toEqual(['message 1', 'fixed', 'message 3']);
  });

  test('When nothing new arrives, then the same array comes back (no re-render)', () => {
    const list = [message(1)];
    expect(mergeMessages(list, [])).toBe(list);
    expect(mergeMessages(list, [list[0]!])).toBe(list);
  });

  test('When the ack of a pending send arrives, then the pending entry gives way to the stored message', () => {
    let timeline = withPending(emptyTimeline, pending('ref-1'));
    timeline = withPending(timeline, pending('ref-2'));
    timeline = withMessages(timeline, [message(7, { clientMsgId: 'ref-1', text: 'hi' })]);
    expect(timeline.pending.map((p) => p.ref)).toEqual(['ref-2']);
    expect(timeline.messages.map((m) => m.seq)).toEqual([7]);
  });

  test('When the ack raced ahead of the pending bookkeeping, then nothing stays pending', () => {
    const timeline = withMessages(emptyTimeline, [message(1, { clientMsgId: 'ref-1' })]);
    expect(withPending(timeline, pending('ref-1')).pending).toEqual([]);
  });

  test('When a failed send is retried with its ref, then it is pending once, not twice', () => {
    let timeline = withPending(emptyTimeline, { ...pending('ref-1'), state: 'failed', error: 'x' });
    timeline = withPending(timeline, pending('ref-1'));
    expect(timeline.pending).toEqual([pending('ref-1')]);
  });

  test('When older pages load, then the floor goes down and hasMoreBefore follows the last page', () => {
    let timeline = withHistoryPage(
      emptyTimeline,
      { messages: [message(51), message(52)], hasMore: true },
      'latest',
    );
    expect(timeline).toMatchObject({ loaded: true, floorSeq: 51, hasMoreBefore: true });
    timeline = withHistoryPage(
      timeline,
      { messages: [message(49), message(50)], hasMore: false },
      'before',
    );
    expect(timeline).toMatchObject({ floorSeq: 49, hasMoreBefore: false });
    expect(timeline.messages.map((m) => m.seq)).toEqual([49, 50, 51, 52]);
  });

  test('When the newest page is fetched again after a reconnect, then the floor and hasMoreBefore stay', () => {
    let timeline = withHistoryPage(
      emptyTimeline,
      { messages: [message(3), message(4)], hasMore: true },
      'latest',
    );
    timeline = withHistoryPage(
      timeline,
      { messages: [message(1), message(2)], hasMore: false },
      'before',
    );
    timeline = withHistoryPage(
      timeline,
      { messages: [message(4), message(5)], hasMore: true },
      'latest',
    );
    expect(timeline).toMatchObject({ floorSeq: 1, hasMoreBefore: false });
    expect(timeline.messages.map((m) => m.seq)).toEqual([1, 2, 3, 4, 5]);
  });

  test('When a conversation is empty, then there is nothing more to load', () => {
    const timeline = withHistoryPage(emptyTimeline, { messages: [], hasMore: false }, 'latest');
    expect(timeline).toMatchObject({ loaded: true, hasMoreBefore: false, floorSeq: undefined });
  });

  test('When replies are loaded, then the main list shows roots and the thread its replies', () => {
    const root = message(1);
    const messages = [
      root,
      message(2, { parentId: 'm1' }),
      message(3),
      message(4, { parentId: 'm1' }),
    ];
    expect(rootMessages(messages).map((m) => m.seq)).toEqual([1, 3]);
    const thread = threadOf(messages, 'm1');
    expect(thread.root).toBe(root);
    expect(thread.replies.map((m) => m.seq)).toEqual([2, 4]);
    expect(replySummaries(messages).get('m1')).toEqual({
      count: 2,
      lastAt: messages[3]!.createdAt,
    });
  });

  test('When I toggle a reaction, then my id is added, then removed, and an empty emoji disappears', () => {
    const once = toggledReactions({ '👍': [ben.id] }, '👍', 'me');
    expect(once).toEqual({ '👍': [ben.id, 'me'] });
    expect(toggledReactions(once, '👍', 'me')).toEqual({ '👍': [ben.id] });
    expect(toggledReactions({ '🎉': ['me'] }, '🎉', 'me')).toEqual({});
  });
});
