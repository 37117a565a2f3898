// Presence across websocket instances (docs/design.md §6.7, §14, README "Presence design").
//
// What crosses instances grows with the users that change, not with the users held
// (docs/scaling.md measures it):
// - deltas: each instance announces its own users' transitions (first socket → online,
//   last socket → offline), numbered per run of the process (`epoch`, `seq`);
// - a digest every heartbeat: a fixed-size summary of the users the instance holds
//   (count and an order-free hash of their ids, after delta `seq`), which doubles as
//   the liveness signal;
// - a full snapshot only when a peer asks (`resync` in its digest): a starting
//   instance asks every peer (`*`), a peer that saw a gap in the seqs, a new epoch or a
//   digest that does not match what it holds asks that instance. Deltas and digests of
//   one instance go through one channel to every queue, so they arrive in order: when a
//   digest arrives, every delta it counts has arrived before it.
//
// Every instance keeps, per peer instance, the users it last heard that peer hold and
// when it last heard from it; a peer silent for longer than the timeout (a crash, a
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
import { randomUUID } from 'node:crypto';
import {
  createEvent,
  type EventOf,
  type ParleyEvent,
  type PresenceStatus,
} from '@parley/contracts';
import type { Logger } from '@parley/server-kit';
import type { SocketSession } from './socket-session';

export type PresenceEvent =
  EventOf<'presence'> | EventOf<'presence_snapshot'> | EventOf<'presence_digest'>;

/** The events of the presence exchange, the only ones the tracker takes. */
export function isPresenceEvent(event: ParleyEvent): event is PresenceEvent {
  return (
    event.type === 'presence' ||
    event.type === 'presence_snapshot' ||
    event.type === 'presence_digest'
  );
}

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
  /** Names this run of the process in its announcements; default a random one. */
  epoch?: string;
}

export interface PresenceTracker {
  /** What watchers have been told: a user within the offline grace still counts as online. */
  status(userId: string): PresenceStatus;
  /** Call when a user's first socket opened here. */
  localOnline(userId: string): void;
  /** Call when a user's last socket here closed. */
  localOffline(userId: string): void;
  /** Feeds a presence, snapshot or digest event from the bus (own ones are ignored). */
  apply(event: PresenceEvent): void;
  /** Drops peers unheard of within the timeout; run by the heartbeat, exposed for tests. */
  sweep(): void;
  /** One heartbeat: sweep, a snapshot if a peer asked, the digest. Run by start(). */
  heartbeat(): void;
  /** Publishes a first snapshot and a digest asking every peer for theirs, then heartbeats. */
  start(): void;
  /** Stops the heartbeat without announcing anything. */
  stop(): void;
  /** Peers currently considered alive. */
  peers(): string[];
}

/**
 * An order-free hash of a set of ids, kept up to date as ids come and go: two 32-bit
 * FNV-1a hashes (different offsets) of each id, summed modulo 2^32. Detects a set that
 * drifted (a lost delta), not an adversary; a full snapshot repairs the drift.
 */
class SetHash {
  private a = 0;
  private b = 0;

  add(id: string): void {
    this.a = (this.a + fnv1a(id, 0x811c9dc5)) >>> 0;
    this.b = (this.b + fnv1a(id, 0x050c5d1f)) >>> 0;
  }

  remove(id: string): void {
    this.a = (this.a - fnv1a(id, 0x811c9dc5)) >>> 0;
    this.b = (this.b - fnv1a(id, 0x050c5d1f)) >>> 0;
  }

  reset(ids: Iterable<string>): void {
    this.a = 0;
    this.b = 0;
    for (const id of ids) this.add(id);
  }

  hex(): string {
    return this.a.toString(16).padStart(8, '0') + this.b.toString(16).padStart(8, '0');
  }
}

function fnv1a(text: string, offset: number): number {
  let hash = offset;
  for (let i = 0; i < text.length; i += 1) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

interface Peer {
  userIds: Set<string>;
  hash: SetHash;
  lastSeen: number;
  /** The peer's run and last delta applied; undefined for a peer that sends neither. */
  epoch?: string | undefined;
  seq?: number | undefined;
  /** Our view of it drifted: ask for its snapshot in the next digest. */
  stale: boolean;
}

export function createPresenceTracker(options: PresenceTrackerOptions): PresenceTracker {
  const { instanceId, local, logger } = options;
  const epoch = options.epoch ?? randomUUID().slice(0, 8);
  const peers = new Map<string, Peer>();
  const offlineGraceMs = options.offlineGraceMs ?? 0;
  /** Users gone offline whose watchers have not been told yet. */
  const pendingOffline = new Map<string, NodeJS.Timeout>();
  /** The users announced as held here (the deltas' sum), and their hash. */
  const mine = new Set<string>();
  const mineHash = new SetHash();
  let seq = 0;
  let timer: NodeJS.Timeout | undefined;
  /** A peer asked for our snapshot; when we last sent one. */
  let snapshotWanted = false;
  let lastSnapshotAt = Number.NEGATIVE_INFINITY;
  /** Ask every peer for its snapshot in the next digest (set on start). */
  let askEveryone = false;

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
      found = { userIds: new Set(), hash: new SetHash(), lastSeen: options.now(), stale: false };
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
    snapshotWanted = false;
    lastSnapshotAt = options.now();
    publish(
      createEvent(
        'presence_snapshot',
        {
          instanceId,
          userIds: [...mine],
          at: new Date(options.now()).toISOString(),
          epoch,
          seq,
        },
        [],
      ),
    );
  }

  function digest(): void {
    const resync = askEveryone ? ['*'] : [...peers].filter(([, p]) => p.stale).map(([id]) => id);
    askEveryone = false;
    publish(
      createEvent(
        'presence_digest',
        {
          instanceId,
          epoch,
          seq,
          count: mine.size,
          hash: mineHash.hex(),
          resync: resync.slice(0, 1_000),
          at: new Date(options.now()).toISOString(),
        },
        [],
      ),
    );
  }

  /** Announces one of our own transitions as a numbered delta. */
  function announce(userId: string, next: PresenceStatus): void {
    if (next === 'online') {
      if (mine.has(userId)) return;
      mine.add(userId);
      mineHash.add(userId);
    } else {
      if (!mine.has(userId)) return;
      mine.delete(userId);
      mineHash.remove(userId);
    }
    seq += 1;
    publish(createEvent('presence', { userId, status: next, instanceId, epoch, seq }, []));
  }

  /** A new run of the peer: what we held for its previous run no longer stands. */
  function newEpoch(from: string, p: Peer, next: string): void {
    const hadOne = p.epoch !== undefined;
    p.epoch = next;
    p.seq = undefined;
    if (hadOne && p.userIds.size > 0) {
      logger.info({ peer: from, users: p.userIds.size }, 'presence peer restarted');
      changing(p.userIds, () => {
        p.userIds = new Set();
        p.hash.reset([]);
      });
    }
    p.stale = true;
  }

  function applyDelta(event: EventOf<'presence'>): void {
    const { userId, instanceId: from } = event.data;
    const p = peer(from);
    p.lastSeen = options.now();
    if (event.data.epoch !== undefined && event.data.epoch !== p.epoch)
      newEpoch(from, p, event.data.epoch);
    if (event.data.seq !== undefined) {
      // a gap: a delta was lost (or our queue was re-created); repair from a snapshot
      if (p.seq !== undefined && event.data.seq !== p.seq + 1) p.stale = true;
      if (p.seq === undefined) p.stale = true;
      p.seq = event.data.seq;
    }
    changing([userId], () => {
      if (event.data.status === 'online') {
        if (!p.userIds.has(userId)) p.hash.add(userId);
        p.userIds.add(userId);
      } else if (p.userIds.delete(userId)) p.hash.remove(userId);
    });
  }

  function applySnapshot(event: EventOf<'presence_snapshot'>): void {
    const from = event.data.instanceId;
    const previous = peers.get(from)?.userIds ?? new Set<string>();
    const next = new Set(event.data.userIds);
    changing(new Set([...previous, ...next]), () => {
      const p = peer(from);
      p.lastSeen = options.now();
      p.userIds = next;
      p.hash.reset(next);
      p.epoch = event.data.epoch;
      p.seq = event.data.seq;
      p.stale = false;
    });
  }

  function applyDigest(event: EventOf<'presence_digest'>): void {
    const { instanceId: from, resync } = event.data;
    if (resync.includes('*') || resync.includes(instanceId)) snapshotWanted = true;
    const p = peer(from);
    p.lastSeen = options.now();
    if (event.data.epoch !== p.epoch) newEpoch(from, p, event.data.epoch);
    else if (
      event.data.seq !== p.seq ||
      event.data.count !== p.userIds.size ||
      event.data.hash !== p.hash.hex()
    ) {
      if (!p.stale)
        logger.info(
          { peer: from, theirs: event.data.count, ours: p.userIds.size },
          'presence digest does not match, asking the peer for a snapshot',
        );
      p.stale = true;
    }
    // answer a request at once, but at most one snapshot per half heartbeat: several
    // peers asking together (an instance starting) get one
    if (snapshotWanted && options.now() - lastSnapshotAt >= options.heartbeatMs / 2) snapshot();
  }

  function heartbeat(): void {
    sweep();
    if (snapshotWanted) snapshot();
    digest();
  }

  return {
    status,
    localOnline(userId) {
      // The registry already holds the user: report a change only if no peer did.
      if (!onPeer(userId)) notify(userId, 'online');
      announce(userId, 'online');
    },
    localOffline(userId) {
      if (!onPeer(userId)) notify(userId, 'offline');
      announce(userId, 'offline');
    },
    apply(event) {
      if (event.data.instanceId === instanceId) return;
      if (event.type === 'presence') applyDelta(event);
      else if (event.type === 'presence_snapshot') applySnapshot(event);
      else applyDigest(event);
    },
    sweep,
    heartbeat,
    start() {
      if (timer) return;
      // users may have connected before start(): they are in the snapshot
      for (const userId of local.userIds()) {
        if (!mine.has(userId)) {
          mine.add(userId);
          mineHash.add(userId);
        }
      }
      snapshot();
      askEveryone = true;
      digest();
      timer = setInterval(heartbeat, options.heartbeatMs);
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
