// Presence across websocket instances (docs/design.md §6.7, README "Presence design").
//
// Each instance announces its own users' transitions (first socket → online, last
// socket → offline) and every heartbeat a snapshot of everyone it holds. Every
// instance keeps, per peer instance, the users it last heard that peer hold and when
// it last heard from it; a peer silent for longer than the timeout (a crash, a
// partition) is dropped, so its users go offline unless another instance holds them.
// This instance's own users come straight from its connection registry, not from its
// own echoed events, so a quick connect/disconnect never flickers locally.
//
// A user is online when any live instance holds them. Watchers (presence_subscribe)
// are told of every change through `onChange`: online at once, offline only once the
// user has stayed offline for `offlineGraceMs`. Without that grace, a user moving
// between instances (connects on B, then closes A) shows watchers elsewhere a false
// offline→online blip whenever A's offline reaches them before B's online — and a
// page reload shows the same blip.
import {
  createEvent,
  type EventOf,
  type ParleyEvent,
  type PresenceStatus,
} from '@parley/contracts';
import type { Logger } from '@parley/server-kit';
import type { SocketSession } from './socket-session';

type PresenceEvent = EventOf<'presence'> | EventOf<'presence_snapshot'>;

export interface PresencePublisher {
  publish(event: ParleyEvent): Promise<void>;
}

export interface PresenceTrackerOptions {
  instanceId: string;
  /** This instance's users, from the connection registry. */
  local: { hasUser(userId: string): boolean; userIds(): string[] };
  publisher: PresencePublisher;
  heartbeatMs: number;
  timeoutMs: number;
  /** How long a user must stay offline before watchers are told; default 0. */
  offlineGraceMs?: number;
  now: () => number;
  logger: Logger;
  onChange(userId: string, status: PresenceStatus): void;
}

export interface PresenceTracker {
  /** What watchers have been told: a user within the offline grace still counts as online. */
  status(userId: string): PresenceStatus;
  /** Call when a user's first socket opened here. */
  localOnline(userId: string): void;
  /** Call when a user's last socket here closed. */
  localOffline(userId: string): void;
  /** Feeds a presence or snapshot event from the bus (own ones are ignored). */
  apply(event: PresenceEvent): void;
  /** Drops peers unheard of within the timeout; run by the heartbeat, exposed for tests. */
  sweep(): void;
  /** Publishes a first snapshot, then one per heartbeat, sweeping as it goes. */
  start(): void;
  /** Stops the heartbeat without announcing anything. */
  stop(): void;
  /** Peers currently considered alive. */
  peers(): string[];
}

interface Peer {
  userIds: Set<string>;
  lastSeen: number;
}

export function createPresenceTracker(options: PresenceTrackerOptions): PresenceTracker {
  const { instanceId, local, logger } = options;
  const peers = new Map<string, Peer>();
  const offlineGraceMs = options.offlineGraceMs ?? 0;
  /** Users gone offline whose watchers have not been told yet. */
  const pendingOffline = new Map<string, NodeJS.Timeout>();
  let timer: NodeJS.Timeout | undefined;

  function onPeer(userId: string): boolean {
    for (const peer of peers.values()) if (peer.userIds.has(userId)) return true;
    return false;
  }

  function actual(userId: string): PresenceStatus {
    return local.hasUser(userId) || onPeer(userId) ? 'online' : 'offline';
  }

  function status(userId: string): PresenceStatus {
    return pendingOffline.has(userId) ? 'online' : actual(userId);
  }

  /** Tells watchers of a transition of the actual status, holding offline back for the grace. */
  function notify(userId: string, next: PresenceStatus): void {
    const pending = pendingOffline.get(userId);
    if (next === 'online') {
      if (pending) {
        // back within the grace: watchers were never told offline, so nothing to say
        clearTimeout(pending);
        pendingOffline.delete(userId);
        return;
      }
      options.onChange(userId, 'online');
      return;
    }
    if (offlineGraceMs <= 0) {
      options.onChange(userId, 'offline');
      return;
    }
    if (pending) return;
    const hold = setTimeout(() => {
      pendingOffline.delete(userId);
      if (actual(userId) === 'offline') options.onChange(userId, 'offline');
    }, offlineGraceMs);
    hold.unref();
    pendingOffline.set(userId, hold);
  }

  /** Runs a mutation and reports the users whose status it changed. */
  function changing(userIds: Iterable<string>, mutate: () => void): void {
    const before = new Map<string, PresenceStatus>();
    for (const userId of userIds) before.set(userId, actual(userId));
    mutate();
    for (const [userId, was] of before) {
      const now = actual(userId);
      if (now !== was) notify(userId, now);
    }
  }

  function publish(event: ParleyEvent): void {
    options.publisher.publish(event).catch((err: unknown) => {
      logger.warn({ err, type: event.type }, 'could not publish presence');
    });
  }

  function peer(id: string): Peer {
    let found = peers.get(id);
    if (!found) {
      found = { userIds: new Set(), lastSeen: options.now() };
      peers.set(id, found);
    }
    return found;
  }

  function sweep(): void {
    const cutoff = options.now() - options.timeoutMs;
    for (const [id, p] of peers) {
      if (p.lastSeen >= cutoff) continue;
      logger.warn(
        { peer: id, users: p.userIds.size },
        'presence peer timed out, dropping its users',
      );
      changing(p.userIds, () => peers.delete(id));
    }
  }

  function snapshot(): void {
    publish(
      createEvent(
        'presence_snapshot',
        { instanceId, userIds: local.userIds(), at: new Date(options.now()).toISOString() },
        [],
      ),
    );
  }

  return {
    status,
    localOnline(userId) {
      // The registry already holds the user: report a change only if no peer did.
      if (!onPeer(userId)) notify(userId, 'online');
      publish(createEvent('presence', { userId, status: 'online', instanceId }, []));
    },
    localOffline(userId) {
      if (!onPeer(userId)) notify(userId, 'offline');
      publish(createEvent('presence', { userId, status: 'offline', instanceId }, []));
    },
    apply(event) {
      const from = event.data.instanceId;
      if (from === instanceId) return;
      if (event.type === 'presence') {
        const { userId } = event.data;
        changing([userId], () => {
          const p = peer(from);
          p.lastSeen = options.now();
          if (event.data.status === 'online') p.userIds.add(userId);
          else p.userIds.delete(userId);
        });
        return;
      }
      const previous = peers.get(from)?.userIds ?? new Set<string>();
      const next = new Set(event.data.userIds);
      changing(new Set([...previous, ...next]), () => {
        const p = peer(from);
        p.lastSeen = options.now();
        p.userIds = next;
      });
    },
    sweep,
    start() {
      if (timer) return;
      snapshot();
      timer = setInterval(() => {
        sweep();
        snapshot();
      }, options.heartbeatMs);
      timer.unref();
    },
    stop() {
      clearInterval(timer);
      timer = undefined;
      for (const hold of pendingOffline.values()) clearTimeout(hold);
      pendingOffline.clear();
    },
    peers: () => [...peers.keys()],
  };
}

/** Who watches whom (presence_subscribe), to route `presence` frames. */
export interface PresenceWatchers {
  /**
   * Adds watches up to `max` per session; returns the user ids now watched, each once
   * (a repeated id in one request counts once).
   */
  watch(session: SocketSession, userIds: readonly string[], max: number): string[];
  unwatchAll(session: SocketSession): void;
  watchersOf(userId: string): ReadonlySet<SocketSession>;
}

const NOBODY: ReadonlySet<SocketSession> = new Set();

export function createPresenceWatchers(): PresenceWatchers {
  const byWatched = new Map<string, Set<SocketSession>>();
  return {
    watch(session, userIds, max) {
      const added: string[] = [];
      for (const userId of new Set(userIds)) {
        if (session.watching.has(userId)) {
          added.push(userId);
          continue;
        }
        if (session.watching.size >= max) break;
        session.watching.add(userId);
        let set = byWatched.get(userId);
        if (!set) {
          set = new Set();
          byWatched.set(userId, set);
        }
        set.add(session);
        added.push(userId);
      }
      return added;
    },
    unwatchAll(session) {
      for (const userId of session.watching) {
        const set = byWatched.get(userId);
        set?.delete(session);
        if (set?.size === 0) byWatched.delete(userId);
      }
      session.watching.clear();
    },
    watchersOf: (userId) => byWatched.get(userId) ?? NOBODY,
  };
}
