// Unit tests of the presence bookkeeping, with a hand-driven clock.
import { createEvent, type ParleyEvent, type PresenceStatus } from '@parley/contracts';
import { createSilentLogger } from '@parley/testing';
import { createPresenceTracker } from '../src/presence-tracker';

function setup(offlineGraceMs = 0, instanceId = 'me') {
  let now = 1_000_000;
  const local = new Set<string>();
  const published: ParleyEvent[] = [];
  const changes: Array<[string, PresenceStatus]> = [];
  const tracker = createPresenceTracker({
    instanceId,
    local: { hasUser: (u) => local.has(u), userIds: () => [...local] },
    publisher: {
      publish: async (event) => {
        published.push(event);
      },
    },
    heartbeatMs: 1_000,
    timeoutMs: 3_000,
    offlineGraceMs,
    now: () => now,
    logger: createSilentLogger(),
    onChange: (userId, status) => changes.push([userId, status]),
  });
  return {
    tracker,
    local,
    published,
    changes,
    advance: (ms: number) => (now += ms),
  };
}

const online = (userId: string, instanceId: string) =>
  createEvent('presence', { userId, status: 'online', instanceId }, []);
const snapshot = (instanceId: string, userIds: string[]) =>
  createEvent('presence_snapshot', { instanceId, userIds, at: new Date().toISOString() }, []);

test('When a user opens a first socket here, then online is published and watchers are told', () => {
  const { tracker, local, published, changes } = setup();
  local.add('u1');
  tracker.localOnline('u1');
  expect(published[0]).toMatchObject({
    type: 'presence',
    data: { userId: 'u1', status: 'online', instanceId: 'me' },
  });
  expect(changes).toEqual([['u1', 'online']]);
  expect(tracker.status('u1')).toBe('online');
});

test('When a peer goes silent past the timeout, then its users go offline unless another peer holds them', () => {
  const { tracker, changes, advance } = setup();
  tracker.apply(snapshot('a', ['u1', 'u2']));
  tracker.apply(snapshot('b', ['u2']));
  expect(changes).toEqual([
    ['u1', 'online'],
    ['u2', 'online'],
  ]);
  advance(2_000);
  tracker.apply(snapshot('b', ['u2']));
  advance(1_500);
  tracker.sweep();
  expect(tracker.peers()).toEqual(['b']);
  expect(changes.slice(2)).toEqual([['u1', 'offline']]);
  expect(tracker.status('u2')).toBe('online');
});

test('When a snapshot leaves a user out, then that user goes offline; own events are ignored', () => {
  const { tracker, changes } = setup();
  tracker.apply(online('u1', 'a'));
  tracker.apply(snapshot('a', []));
  tracker.apply(online('u9', 'me'));
  expect(changes).toEqual([
    ['u1', 'online'],
    ['u1', 'offline'],
  ]);
  expect(tracker.status('u9')).toBe('offline');
});

test('When a user leaves this instance but is on a peer, then nothing changes for watchers', () => {
  const { tracker, local, changes } = setup();
  tracker.apply(online('u1', 'a'));
  local.add('u1');
  tracker.localOnline('u1');
  local.delete('u1');
  tracker.localOffline('u1');
  expect(changes).toEqual([['u1', 'online']]);
});

describe('offline grace', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  test('When a user moves to another instance and the offline arrives first, then watchers see no blip', () => {
    const { tracker, changes } = setup(1_000);
    tracker.apply(online('u1', 'a'));
    // a's offline reaches us before b's online
    tracker.apply(
      createEvent('presence', { userId: 'u1', status: 'offline', instanceId: 'a' }, []),
    );
    expect(tracker.status('u1')).toBe('online');
    jest.advanceTimersByTime(300);
    tracker.apply(online('u1', 'b'));
    jest.advanceTimersByTime(2_000);
    expect(changes).toEqual([['u1', 'online']]);
    expect(tracker.status('u1')).toBe('online');
  });

  test('When a user stays offline past the grace, then watchers are told once', () => {
    const { tracker, local, changes } = setup(1_000);
    local.add('u1');
    tracker.localOnline('u1');
    local.delete('u1');
    tracker.localOffline('u1');
    jest.advanceTimersByTime(999);
    expect(changes).toEqual([['u1', 'online']]);
    jest.advanceTimersByTime(1);
    expect(changes).toEqual([
      ['u1', 'online'],
      ['u1', 'offline'],
    ]);
    expect(tracker.status('u1')).toBe('offline');
  });
});

describe('deltas and digests (docs/design.md §14)', () => {
  /** Two trackers joined by an in-memory fanout that can lose the next message. */
  function pair() {
    const a = setup(0, 'a');
    const b = setup(0, 'b');
    let delivered = { a: 0, b: 0 };
    let dropNext = false;
    const flush = () => {
      for (const [from, to] of [
        [a, b],
        [b, a],
      ] as const) {
        const key = from === a ? 'a' : 'b';
        for (const event of from.published.slice(delivered[key])) {
          if (dropNext) {
            dropNext = false;
            continue;
          }
          to.tracker.apply(event as Parameters<typeof to.tracker.apply>[0]);
        }
        delivered = { ...delivered, [key]: from.published.length };
      }
    };
    return { a, b, flush, dropOne: () => (dropNext = true) };
  }

  test('When nothing changes, then a heartbeat publishes one small digest and no snapshot, whatever the number of users', () => {
    const { tracker, local, published } = setup();
    for (let i = 0; i < 5_000; i += 1) local.add(`user-${i}`);
    tracker.start();
    tracker.stop();
    published.length = 0;
    tracker.heartbeat();
    expect(published.map((e) => e.type)).toEqual(['presence_digest']);
    expect(JSON.stringify(published[0]).length).toBeLessThan(400);
    expect(published[0]).toMatchObject({ data: { count: 5_000, resync: [] } });
  });

  test('When a delta is lost, then the digest shows the drift, the peer asks for a snapshot and its view is repaired', () => {
    const { a, b, flush, dropOne } = pair();
    a.tracker.start();
    b.tracker.start();
    flush();
    flush();
    a.local.add('u1');
    a.tracker.localOnline('u1');
    flush();
    expect(b.tracker.status('u1')).toBe('online');

    a.local.delete('u1');
    a.tracker.localOffline('u1');
    a.local.add('u2');
    a.tracker.localOnline('u2');
    dropOne(); // b never hears u1 go offline
    flush();
    expect(b.tracker.status('u1')).toBe('online');
    expect(b.tracker.status('u2')).toBe('online');

    a.advance(1_000); // a heartbeat later: a answers a request at once
    b.advance(1_000);
    const before = a.published.length;
    b.tracker.heartbeat(); // b's digest asks a for a resync (it saw the seq gap)
    expect(b.published.at(-1)).toMatchObject({
      type: 'presence_digest',
      data: { resync: ['a'] },
    });
    flush();
    expect(a.published.slice(before).map((e) => e.type)).toEqual(['presence_snapshot']);
    flush();
    expect(b.tracker.status('u1')).toBe('offline');
    expect(b.tracker.status('u2')).toBe('online');
    // repaired: the next digests match and nobody asks again
    a.tracker.heartbeat();
    flush();
    b.tracker.heartbeat();
    expect(b.published.at(-1)).toMatchObject({ data: { resync: [] } });
    a.tracker.stop();
    b.tracker.stop();
  });

  test('When a peer restarts (a new epoch), then the users of its previous run go offline', () => {
    const { tracker, changes } = setup();
    const delta = (userId: string, epoch: string, seq: number) =>
      createEvent('presence', { userId, status: 'online', instanceId: 'a', epoch, seq }, []);
    tracker.apply(delta('u1', 'run1', 1));
    tracker.apply(delta('u2', 'run2', 1));
    expect(changes).toEqual([
      ['u1', 'online'],
      ['u1', 'offline'],
      ['u2', 'online'],
    ]);
  });
});
