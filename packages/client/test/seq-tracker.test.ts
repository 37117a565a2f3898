import { SeqTracker } from '../src/seq-tracker';
import { message } from './support/fake-parley';

const seqs = (list: Array<{ seq: number }>) => list.map((m) => m.seq);

describe('SeqTracker', () => {
  it('When messages arrive in order, then each is delivered once and lastSeen follows', () => {
    const tracker = new SeqTracker();
    expect(tracker.accept(message('c', 1)).status).toBe('delivered');
    expect(tracker.accept(message('c', 2)).deliver.map((m) => m.seq)).toEqual([2]);
    expect(tracker.lastSeen('c')).toBe(2);
  });

  it('When an untracked conversation is first seen mid-way, then tracking starts at that message (no backfill)', () => {
    const tracker = new SeqTracker();
    expect(tracker.accept(message('c', 40)).status).toBe('delivered');
    expect(tracker.lastSeen('c')).toBe(40);
    expect(tracker.hasGap('c')).toBe(false);
  });

  it('When a conversation is forgotten, then it is no longer tracked but still known', () => {
    const tracker = new SeqTracker({ seed: { a: 3 } });
    tracker.accept(message('b', 1));
    expect([tracker.isKnown('a'), tracker.isKnown('b'), tracker.isKnown('c')]).toEqual([
      true,
      true,
      false,
    ]);
    tracker.forget('a');
    expect(tracker.isTracked('a')).toBe(false);
    expect(tracker.isKnown('a')).toBe(true);
  });

  it('When a message is seen again (same seq or same id), then it is dropped', () => {
    const tracker = new SeqTracker({ seed: { c: 5 } });
    expect(tracker.accept(message('c', 5)).status).toBe('duplicate');
    expect(tracker.accept(message('c', 3)).status).toBe('duplicate');
    expect(tracker.accept(message('c', 6)).status).toBe('delivered');
    expect(tracker.accept(message('c', 6)).status).toBe('duplicate');
    // Same id, different seq claim: still the same message.
    expect(tracker.accept({ ...message('c', 7), id: 'c-m6' }).status).toBe('duplicate');
  });

  it('When seq jumps past lastSeen+1, then it is buffered as a gap and released in order once filled', () => {
    const tracker = new SeqTracker({ seed: { c: 2 } });
    expect(tracker.accept(message('c', 5)).status).toBe('buffered');
    expect(tracker.accept(message('c', 4)).status).toBe('buffered');
    expect(tracker.accept(message('c', 5)).status).toBe('duplicate');
    expect(tracker.hasGap('c')).toBe(true);
    expect(tracker.conversationsWithGaps()).toEqual(['c']);
    const filled = tracker.accept(message('c', 3));
    expect(filled.status).toBe('delivered');
    expect(seqs(filled.deliver)).toEqual([3, 4, 5]);
    expect(tracker.hasGap('c')).toBe(false);
    expect(tracker.lastSeen('c')).toBe(5);
  });

  it('When a gap can never be filled, then skipGap releases what is buffered in order', () => {
    const tracker = new SeqTracker({ seed: { c: 1 } });
    tracker.accept(message('c', 4));
    tracker.accept(message('c', 5));
    expect(seqs(tracker.skipGap('c'))).toEqual([4, 5]);
    expect(tracker.lastSeen('c')).toBe(5);
  });

  it('When the app seeds a conversation further on, then buffered messages it covers are dropped and the rest released', () => {
    const tracker = new SeqTracker({ seed: { c: 1 } });
    tracker.accept(message('c', 3));
    tracker.accept(message('c', 5));
    expect(seqs(tracker.seed('c', 4))).toEqual([5]);
    expect(tracker.lastSeen('c')).toBe(5);
    expect(tracker.seed('c', 2)).toEqual([]);
    expect(tracker.lastSeen('c')).toBe(5);
  });

  it('When a conversation is forgotten, then its buffered messages come back in order and it is untracked', () => {
    const tracker = new SeqTracker({ seed: { c: 1 } });
    tracker.accept(message('c', 9));
    tracker.accept(message('c', 7));
    expect(seqs(tracker.forget('c'))).toEqual([7, 9]);
    expect(tracker.isTracked('c')).toBe(false);
  });

  it('When more conversations are tracked than a resume may name, then the most recently active ones are named', () => {
    const tracker = new SeqTracker({ seed: { a: 1, b: 2, c: 3 } });
    tracker.accept(message('a', 2));
    const { conversations, overflow } = tracker.snapshot(2);
    expect(conversations).toEqual({ a: 2, c: 3 });
    expect(overflow).toEqual(['b']);
  });

  it('When many messages pass, then remembered ids stay bounded to the window below lastSeen', () => {
    const tracker = new SeqTracker({ window: 10 });
    for (let seq = 1; seq <= 1000; seq++) tracker.accept(message('c', seq));
    expect(tracker.lastSeen('c')).toBe(1000);
    // Old ids are gone, but their seqs are still below lastSeen: still duplicates.
    expect(tracker.accept(message('c', 3)).status).toBe('duplicate');
    expect(tracker.accept(message('c', 1001)).status).toBe('delivered');
  });
});
