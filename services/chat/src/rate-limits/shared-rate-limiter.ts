// Per-key rate limits that hold across chat instances without a MongoDB command per
// request (docs/design.md §4.14; docs/security.md "How the limits are counted").
//
// Each rule allows `points` per sliding `windowMs`. A window is counted in SLICES
// fixed slices; the count at time t is the slices inside (t - windowMs, t] plus the
// part of the oldest slice still inside it, weighted by how much of it is (the usual
// sliding-window estimate; a rule of 1 per 2 s lets the next one through 2 to 2.5 s
// later). Every instance:
// - decides each request from memory: the last known global count of each slice (read
//   from MongoDB) plus what it admitted itself since — take() does no I/O;
// - every `syncIntervalMs` writes what it admitted since the last sync as one
//   unordered bulkWrite of `$inc` upserts (one document per key and slice) — but only
//   for keys with at least UNWRITTEN_SHARE of their rule's points unwritten, so a user
//   well within a limit costs no write at all (FerretDB performs each upsert of a bulk
//   on its own, and most users send far below the limits) — then reads
//   back the global count of the live slices of every key it was asked about in the
//   last RECENT_MS with one find (`_id $in`): two commands per interval however many
//   requests it served, none once idle for RECENT_MS (a user whose requests alternate
//   between instances is thus read back on each of them while active);
// - deletes expired slices with one deleteMany every CLEANUP_INTERVAL_MS when it wrote
//   any (FerretDB has no TTL indexes; on MongoDB the expiresAt index serves it), and
//   forgets them in memory.
//
// What that allows (the bounded over-admission): between two syncs an instance does
// not see what the others admitted. A user whose requests reach N instances within one
// sync interval can get at most what each of them would admit alone in that interval
// — so over a window at most points + (N − 1) × (one instance's admissions for the key
// in one sync interval) + N × (its unwritten allowance, points × UNWRITTEN_SHARE), and
// never more than N × points; the surplus counts globally
// once synced, so the user then waits longer. One instance alone is exact. A key new
// to an instance, or not asked about there for RECENT_MS, is judged on what the
// instance knew of it until the next sync.
//
// MongoDB unreachable: requests are still judged on local counts and the last known
// global ones (a limiter must not turn an outage into 503s); the unwritten counts are
// written at the next sync that succeeds (a write that failed partway may count twice,
// which errs towards refusing).
import type { Logger } from '@parley/server-kit';
import type { AnyBulkWriteOperation, Collection, Db } from 'mongodb';

export const RATE_LIMIT_COLLECTION = 'rate_limit_slices';

/** How often an instance syncs its counts by default (RATE_LIMIT_SYNC_INTERVAL_MS). */
export const DEFAULT_SYNC_INTERVAL_MS = 250;
/** Slices per window: the estimate's resolution (a 10 s window counts in 2.5 s slices). */
export const SLICES = 4;
/** Expired slices are deleted this often (by every instance; deleting twice is harmless). */
const CLEANUP_INTERVAL_MS = 60_000;
/**
 * A key's admissions on one instance are written once they reach this share of its
 * rule's points (at least 1): below it, the others need not know.
 */
export const UNWRITTEN_SHARE = 1 / 8;
/** Keys asked about within this long are read back at every sync. */
const RECENT_MS = 30_000;
/** Ids per find when reading back global counts. */
const READ_BATCH = 5_000;

export interface RateRule {
  /** Names the rule in storage and metrics (`send`, `typing`, …). */
  name: string;
  /** What one key may do per window; 0 turns the rule off. */
  points: number;
  windowMs: number;
}

export type TakeResult = { ok: true } | { ok: false; retryAfterMs: number };

export interface RateLimit {
  readonly rule: RateRule;
  /** Counts `cost` against `key` if the window has room for it; never does I/O. */
  take(key: string, cost?: number): TakeResult;
  /**
   * Reads the global count of `key` now (one find) unless this instance read it within
   * RECENT_MS: for rare, long-window rules (room creation, invitations), so a key new
   * to an instance is not judged on nothing.
   */
  refresh(key: string): Promise<void>;
  /** Gives back what take() counted for a request that turned out not to count. */
  refund(key: string, cost?: number): void;
}

export interface SharedRateLimiter {
  /** A limit over `rule`'s keys; every limit of one limiter syncs together. */
  limit(rule: RateRule): RateLimit;
  ensureIndexes(): Promise<void>;
  /** Writes what this instance admitted and reads the global counts back (the timer's job). */
  sync(): Promise<void>;
  /** Starts syncing every syncIntervalMs. */
  start(): void;
  /** Stops the timer and writes what is still unwritten (best effort). */
  stop(): Promise<void>;
  /** Keys with live state in memory, for tests and metrics. */
  readonly trackedKeys: number;
}

export interface SharedRateLimiterOptions {
  db: Db;
  syncIntervalMs: number;
  logger: Logger;
  now?: () => number;
  /** Keys kept in memory at most; the least recently used are forgotten first. */
  maxKeys?: number;
  /** Default UNWRITTEN_SHARE; 0 writes every admission (tests). */
  unwrittenShare?: number;
  /** Counts each sync that failed (MongoDB unreachable). */
  onSyncFailure?: () => void;
}

interface SliceDoc {
  _id: string;
  n: number;
  expiresAt: Date;
}

interface SliceCount {
  /** Global count at the last read (everyone's, ours written before it included). */
  global: number;
  /** Ours, written after the last read began. */
  written: number;
  /** Ours, being written now. */
  writing: number;
  /** Ours, not written yet. */
  pending: number;
}

interface KeyState {
  id: string;
  sliceMs: number;
  slices: Map<number, SliceCount>;
  /** When this instance was last asked about the key. */
  touchedAt: number;
  /** When a read of its global counts last began (0: never). */
  readAt: number;
  /** Unwritten admissions this instance keeps to itself (UNWRITTEN_SHARE of the points). */
  allowance: number;
}

function total(slice: SliceCount | undefined): number {
  return slice ? slice.global + slice.written + slice.writing + slice.pending : 0;
}

function sliceMsOf(rule: RateRule): number {
  return Math.max(1, Math.ceil(rule.windowMs / SLICES));
}

/** The sliding-window count of `state` at time t. */
function countAt(state: KeyState, t: number): number {
  const current = Math.floor(t / state.sliceMs);
  const inOldest = 1 - (t - current * state.sliceMs) / state.sliceMs;
  let count = total(state.slices.get(current - SLICES)) * inOldest;
  for (let s = current - SLICES + 1; s <= current; s++) count += total(state.slices.get(s));
  return count;
}

/**
 * How long until `cost` more fits, if nothing else is admitted meanwhile: the count
 * only falls as slices leave the window, so walk forward slice by slice and solve for
 * the moment the oldest one has left enough.
 */
function waitFor(state: KeyState, t: number, cost: number, points: number): number {
  const room = points - cost;
  const current = Math.floor(t / state.sliceMs);
  for (let ahead = 0; ahead <= SLICES; ahead++) {
    const s = current + ahead;
    let full = 0;
    for (let k = s - SLICES + 1; k <= current; k++) full += total(state.slices.get(k));
    if (full > room) continue;
    const oldest = total(state.slices.get(s - SLICES));
    // count(t') = full + oldest × (1 − f) ≤ room  ⇔  f ≥ 1 − (room − full) / oldest
    const fraction = oldest <= 0 ? 0 : Math.max(0, 1 - (room - full) / oldest);
    const at = (s + fraction) * state.sliceMs;
    return Math.max(1, Math.ceil(at - t));
  }
  return state.sliceMs * (SLICES + 1);
}

export function createSharedRateLimiter(options: SharedRateLimiterOptions): SharedRateLimiter {
  const collection: Collection<SliceDoc> = options.db.collection<SliceDoc>(RATE_LIMIT_COLLECTION);
  const now = options.now ?? Date.now;
  const maxKeys = options.maxKeys ?? 200_000;
  // rule name + key → state; Map order is recency (touched keys move to the end)
  const keys = new Map<string, KeyState>();
  // asked about in the last RECENT_MS (or with counts left to write): what a sync
  // writes and reads back
  const recent = new Set<KeyState>();
  let timer: NodeJS.Timeout | undefined;
  let syncing: Promise<void> | undefined;
  let lastCleanup = now();
  let wroteSinceCleanup = false;

  function stateOf(rule: RateRule, key: string): KeyState {
    const id = `${rule.name}|${key}`;
    let state = keys.get(id);
    if (state) {
      keys.delete(id);
    } else {
      state = {
        id,
        sliceMs: sliceMsOf(rule),
        slices: new Map(),
        touchedAt: 0,
        readAt: 0,
        allowance: Math.max(
          1,
          Math.floor(rule.points * (options.unwrittenShare ?? UNWRITTEN_SHARE)),
        ),
      };
      if (keys.size >= maxKeys) {
        const oldest = keys.keys().next().value as string;
        recent.delete(keys.get(oldest)!);
        keys.delete(oldest);
      }
    }
    keys.set(id, state);
    state.touchedAt = now();
    recent.add(state);
    return state;
  }

  function sliceOf(state: KeyState, index: number): SliceCount {
    let slice = state.slices.get(index);
    if (!slice) {
      slice = { global: 0, written: 0, writing: 0, pending: 0 };
      state.slices.set(index, slice);
    }
    return slice;
  }

  const docId = (state: KeyState, slice: number) => `${state.id}|${slice}`;

  async function writeMoved(batch: readonly KeyState[]): Promise<void> {
    const moved: { state: KeyState; slice: SliceCount; n: number }[] = [];
    const ops: AnyBulkWriteOperation<SliceDoc>[] = [];
    for (const state of batch) {
      let unwritten = 0;
      for (const slice of state.slices.values()) unwritten += slice.pending;
      if (unwritten < state.allowance) continue;
      for (const [index, slice] of state.slices) {
        if (slice.pending === 0) continue;
        const n = slice.pending;
        slice.pending = 0;
        slice.writing += n;
        moved.push({ state, slice, n });
        // kept until the slice has left every window that counts it
        const expiresAt = new Date((index + SLICES + 2) * state.sliceMs);
        ops.push({
          updateOne: {
            filter: { _id: docId(state, index) },
            update: { $inc: { n }, $setOnInsert: { expiresAt } },
            upsert: true,
          },
        });
      }
    }
    if (ops.length === 0) return;
    try {
      await collection.bulkWrite(ops, { ordered: false });
      wroteSinceCleanup = true;
      for (const { slice, n } of moved) {
        slice.writing -= n;
        slice.written += n;
      }
    } catch (err) {
      for (const { state, slice, n } of moved) {
        slice.writing -= n;
        slice.pending += n;
        recent.add(state); // written by the next sync
      }
      throw err;
    }
  }

  /**
   * Reads the global count of the live slices of `batch`. A sync's read follows its
   * write, so the counts include this instance's written ones; a refresh may overlap a
   * sync's write, so it only raises what is known (counting ours twice at worst).
   */
  async function readBack(batch: readonly KeyState[], mode: 'sync' | 'refresh'): Promise<void> {
    const t = now();
    const live: { state: KeyState; index: number }[] = [];
    for (const state of batch) {
      state.readAt = t;
      const oldest = Math.floor(t / state.sliceMs) - SLICES;
      if (mode === 'refresh') {
        // the current slice and the window before it, whether or not this instance has them
        const current = Math.floor(t / state.sliceMs);
        for (let index = oldest; index <= current; index++) sliceOf(state, index);
      }
      for (const index of state.slices.keys()) if (index >= oldest) live.push({ state, index });
    }
    for (let i = 0; i < live.length; i += READ_BATCH) {
      const part = live.slice(i, i + READ_BATCH);
      const docs = await collection
        .find(
          { _id: { $in: part.map(({ state, index }) => docId(state, index)) } },
          { batchSize: READ_BATCH }, // one reply, no getMore
        )
        .project<{ _id: string; n: number }>({ n: 1 })
        .toArray();
      const found = new Map(docs.map((d) => [d._id, d.n]));
      for (const { state, index } of part) {
        const slice = state.slices.get(index);
        if (!slice) continue;
        const global = Math.max(0, found.get(docId(state, index)) ?? 0);
        if (mode === 'refresh') {
          slice.global = Math.max(slice.global, global);
        } else {
          // the read began after this instance's writes completed: it holds them
          slice.global = global;
          slice.written = 0;
        }
      }
    }
  }

  /** Forgets slices that left every window, and keys left with none. */
  function forgetExpired(t: number): void {
    for (const [id, state] of keys) {
      const oldest = Math.floor(t / state.sliceMs) - SLICES;
      for (const index of state.slices.keys()) if (index < oldest) state.slices.delete(index);
      if (state.slices.size === 0) keys.delete(id);
    }
  }

  async function cleanup(): Promise<void> {
    const t = now();
    if (t - lastCleanup < CLEANUP_INTERVAL_MS) return;
    lastCleanup = t;
    forgetExpired(t);
    if (!wroteSinceCleanup) return;
    wroteSinceCleanup = false;
    await collection.deleteMany({ expiresAt: { $lt: new Date(t) } });
  }

  function sync(): Promise<void> {
    syncing ??= (async () => {
      const cutoff = now() - RECENT_MS;
      const batch: KeyState[] = [];
      for (const state of recent) {
        let unwritten = 0;
        for (const slice of state.slices.values()) unwritten += slice.pending;
        if (state.touchedAt < cutoff && unwritten < state.allowance) recent.delete(state);
        else batch.push(state);
      }
      try {
        await writeMoved(batch);
        await readBack(batch, 'sync');
        await cleanup();
      } catch (err) {
        options.onSyncFailure?.();
        options.logger.warn({ err }, 'rate limit sync failed; judging on the counts known');
      } finally {
        syncing = undefined;
      }
    })();
    return syncing;
  }

  return {
    limit(rule) {
      if (rule.points <= 0) {
        return {
          rule,
          take: () => ({ ok: true }),
          refund: () => undefined,
          refresh: () => Promise.resolve(),
        };
      }
      return {
        rule,
        take(key, cost = 1) {
          const state = stateOf(rule, key);
          const t = now();
          if (countAt(state, t) + cost > rule.points) {
            return { ok: false, retryAfterMs: waitFor(state, t, cost, rule.points) };
          }
          sliceOf(state, Math.floor(t / state.sliceMs)).pending += cost;
          return { ok: true };
        },
        refund(key, cost = 1) {
          const state = stateOf(rule, key);
          sliceOf(state, Math.floor(now() / state.sliceMs)).pending -= cost;
        },
        async refresh(key) {
          const state = stateOf(rule, key);
          if (state.readAt > 0 && now() - state.readAt < RECENT_MS) return;
          await readBack([state], 'refresh');
        },
      };
    },
    async ensureIndexes() {
      await collection.createIndex({ expiresAt: 1 }, { name: 'expires_at' });
    },
    sync,
    start() {
      if (timer || options.syncIntervalMs <= 0) return;
      timer = setInterval(() => void sync(), options.syncIntervalMs);
      timer.unref();
    },
    async stop() {
      clearInterval(timer);
      timer = undefined;
      await syncing;
      await sync();
    },
    get trackedKeys() {
      return keys.size;
    },
  };
}
