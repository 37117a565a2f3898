// Unit tests of the per-connection meters and the bounded id memories.
import { InflightSends, RecentIds } from '../src/recent-ids';
import { SlidingCounter, TokenBucket } from '../src/socket-session';

test('When frames come faster than the rate, then the bucket allows the burst and refills over time', () => {
  let now = 0;
  const bucket = new TokenBucket(2, 4, () => now);
  expect([1, 2, 3, 4, 5].map(() => bucket.take())).toEqual([true, true, true, true, false]);
  now += 500;
  expect(bucket.take()).toBe(true);
  expect(bucket.take()).toBe(false);
});

test('When bad frames fall outside the window, then they no longer count', () => {
  let now = 0;
  const counter = new SlidingCounter(3, 1_000, () => now);
  expect(counter.hit()).toBe(true);
  expect(counter.hit()).toBe(true);
  now += 1_000;
  expect(counter.hit()).toBe(true);
  expect(counter.hit()).toBe(true);
  expect(counter.hit()).toBe(false);
});

test('When more ids than the capacity are seen, then the oldest are forgotten', () => {
  const ids = new RecentIds(2);
  expect(ids.add('a')).toBe(true);
  expect(ids.add('a')).toBe(false);
  ids.add('b');
  ids.add('c');
  expect(ids.add('a')).toBe(true);
  expect(ids.add('c')).toBe(false);
});

test('When an in-flight send is older than its ttl, then its connection is forgotten', () => {
  let now = 0;
  const sends = new InflightSends(10, 1_000, () => now);
  sends.track('u1', 'ref-1', 'conn-1');
  expect(sends.connectionOf('u1', 'ref-1')).toBe('conn-1');
  expect(sends.connectionOf('u2', 'ref-1')).toBeUndefined();
  now += 1_001;
  expect(sends.connectionOf('u1', 'ref-1')).toBeUndefined();
});
