// applyMessageChange: how a client keeps the messages it holds current from the small
// `message_updated` and `reaction` frames (docs/design.md §4.8), and the SeqTracker applying
// them to messages still buffered beyond a gap.
import type { Message } from '@parley/contracts';
import { SeqTracker, applyMessageChange } from '@parley/client';

const message: Message = {
  id: 'm1',
  conversationId: 'c1',
  seq: 1,
  sender: { id: 'u1', username: 'alice' },
  text: 'hi',
  reactions: { '👍': ['u2'] },
  createdAt: new Date(0).toISOString(),
};
const reaction = (emoji: string, userId: string, added: boolean) =>
  ({ type: 'reaction', messageId: 'm1', conversationId: 'c1', emoji, userId, added }) as const;

it('When reactions are added and removed, then the map follows, repeats change nothing', () => {
  let m = applyMessageChange(message, reaction('👍', 'u3', true));
  m = applyMessageChange(m, reaction('👍', 'u3', true));
  m = applyMessageChange(m, reaction('🎉', 'u1', true));
  m = applyMessageChange(m, reaction('👍', 'u2', false));
  m = applyMessageChange(m, reaction('🙈', 'u9', false));

  expect(m.reactions).toEqual({ '👍': ['u3'], '🎉': ['u1'] });
  expect(message.reactions).toEqual({ '👍': ['u2'] }); // the original is left alone
});

it('When an edit or a delete comes, then text and times change, and a delete clears the reactions', () => {
  const edited = applyMessageChange(message, {
    type: 'message_updated',
    message: {
      id: 'm1',
      conversationId: 'c1',
      seq: 1,
      text: 'hello',
      editedAt: '2026-01-01T00:00:00.000Z',
    },
  });
  const deleted = applyMessageChange(edited, {
    type: 'message_updated',
    message: {
      id: 'm1',
      conversationId: 'c1',
      seq: 1,
      text: '',
      deletedAt: '2026-01-02T00:00:00.000Z',
    },
  });

  expect(edited).toMatchObject({
    text: 'hello',
    editedAt: '2026-01-01T00:00:00.000Z',
    reactions: { '👍': ['u2'] },
  });
  expect(deleted).toMatchObject({ text: '', deletedAt: '2026-01-02T00:00:00.000Z', reactions: {} });
});

it('When an edit names other people or nobody, then the held mentions are replaced, not kept', () => {
  const bob = { id: 'u2', username: 'bob' };
  const carol = { id: 'u3', username: 'carol' };
  const held: Message = { ...message, text: 'hi @bob', mentions: [bob] };
  const edit = (text: string, mentions?: (typeof bob)[]) =>
    applyMessageChange(held, {
      type: 'message_updated',
      message: {
        id: 'm1',
        conversationId: 'c1',
        seq: 1,
        text,
        editedAt: '2026-01-01T00:00:00.000Z',
        ...(mentions ? { mentions } : {}),
      },
    });

  expect(edit('hi @carol', [carol]).mentions).toEqual([carol]);
  expect(edit('hi all')).not.toHaveProperty('mentions');
});

it('When a change is about another message, then nothing changes', () => {
  expect(applyMessageChange(message, { ...reaction('👍', 'u3', true), messageId: 'm2' })).toBe(
    message,
  );
});

it('When a message waits beyond a gap, then a change to it is applied before it is delivered', () => {
  const tracker = new SeqTracker({ seed: { c1: 0 } });
  const second = { ...message, id: 'm2', seq: 2 };
  expect(tracker.accept(second).status).toBe('buffered');

  tracker.applyToBuffered('c1', { ...reaction('🎉', 'u4', true), messageId: 'm2' });
  const { deliver } = tracker.accept(message);

  expect(deliver.map((m) => m.id)).toEqual(['m1', 'm2']);
  expect(deliver[1]!.reactions).toEqual({ '👍': ['u2'], '🎉': ['u4'] });
});
