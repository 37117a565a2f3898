// Unit tests of the presence bookkeeping, with a hand-driven clock.
import { createEvent, type ParleyEvent, type PresenceStatus } from '@parley/contracts';
import { createSilentLogger } from '@parley/testing';
import { createPresenceTracker } from '../src/presence-tracker';

function setup(offlineGraceMs = 0) {
  let now = 1_000_000;
  const local = new Set<string>();
  const published: ParleyEvent[] = [];
  const changes: Array<[string, PresenceStatus]> = [];
  const tracker = createPresenceTracker({
    instanceId: 'me',
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
