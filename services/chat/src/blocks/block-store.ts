// Who blocks whom (docs/design.md §10): one document per (blocker, blocked).
//
// The direct send asks on every message, so its answer (blocksRecently) comes from this
// instance's copy: a pair is read once, a block or unblock through this instance
// replaces the copy at once, and the blocks made through other instances are picked up
// by one query for the recent ones, at most once per window and only while sends ask.
// A cached "blocked" is kept for one window only (a refused send is rare, and an
// unblock leaves no row to find). So across instances a block takes effect within the
// conversation cache window (docs/design.md §4.12, §10.2), at no read per send.
import type { UserRef } from '@parley/contracts';
import type { Collection, Db, IndexDescription } from 'mongodb';
import { createDeclaredIndexes } from '../storage/mongo-indexes';

export interface BlockDoc {
  /** `<blockerId>:<blockedId>`. */
  _id: string;
  blockerId: string;
  blockedId: string;
  blockedUsername: string;
  at: Date;
}

export const BLOCKS_COLLECTION = 'blocks';

const BLOCK_INDEXES: IndexDescription[] = [
  // GET /chat/blocks
  { key: { blockerId: 1, at: 1 }, name: 'blocker' },
  // who blocks a typist, a presence watcher
  { key: { blockedId: 1 }, name: 'blocked' },
  // the blocks made lately, for the other instances' copies
  { key: { at: 1 }, name: 'recent' },
];

/**
 * How far before the previous look the next one reaches back: blocks are stamped by
 * the blocking instance's clock before they are written, so this covers clock skew
 * between instances and a slow write.
 */
const RECENT_LOOKBACK_MS = 60_000;

/** GET /chat/blocks answers at most this many. */
export const BLOCKS_LIST_MAX = 1_000;

export function blockKey(blockerId: string, blockedId: string): string {
  return `${blockerId}:${blockedId}`;
}

export interface BlockStore {
  readonly collection: Collection<BlockDoc>;
  ensureIndexes(): Promise<void>;
  block(blockerId: string, blocked: UserRef, at: Date): Promise<void>;
  unblock(blockerId: string, blockedId: string): Promise<void>;
  list(blockerId: string): Promise<BlockDoc[]>;
  /** Whether `blockerId` blocks `blockedId` (one point read). */
  blocks(blockerId: string, blockedId: string): Promise<boolean>;
  /**
   * The same answer from this instance's copy (see the top of this file): at most
   * `cacheTtlMs` behind a block made through another instance, at once for one made
   * here; no read per call in steady state.
   */
  blocksRecently(blockerId: string, blockedId: string): Promise<boolean>;
  /** Of `candidates`, those who block `blockedId` (one query by blockedId). */
  blockersAmong(blockedId: string, candidates: readonly string[]): Promise<Set<string>>;
}

export interface BlockStoreOptions {
  db: Db;
  /** How long blocksRecently may answer from memory; 0 reads every time. */
  cacheTtlMs?: number;
  /** Pairs blocksRecently keeps (least recently used go first). */
  cacheMaxEntries?: number;
}

export function createBlockStore(options: BlockStoreOptions): BlockStore {
  const collection = options.db.collection<BlockDoc>(BLOCKS_COLLECTION);
  const cacheTtlMs = options.cacheTtlMs ?? 1_000;
  const cacheMaxEntries = options.cacheMaxEntries ?? 10_000;
  // pair key → blocked, and when that was read
  const known = new Map<string, { blocked: boolean; readAt: number }>();
  let lookedAt = Date.now();
  let looking: Promise<void> | undefined;

  function keep(key: string, blocked: boolean, readAt = Date.now()): void {
    if (cacheTtlMs <= 0) return;
    known.delete(key);
    known.set(key, { blocked, readAt });
    if (known.size > cacheMaxEntries) known.delete(known.keys().next().value as string);
  }

  async function readPair(key: string): Promise<boolean> {
    return (await collection.countDocuments({ _id: key })) > 0;
  }

  /** The blocks made since the last look (with the lookback), into the copies. */
  function lookAtRecent(): Promise<void> {
    looking ??= (async () => {
      const startedAt = Date.now();
      try {
        const rows = await collection
          .find({ at: { $gt: new Date(lookedAt - RECENT_LOOKBACK_MS) } })
          .project<{ _id: string }>({ _id: 1 })
          .toArray();
        for (const row of rows) if (known.has(row._id)) keep(row._id, true, startedAt);
        lookedAt = startedAt;
      } finally {
        looking = undefined;
      }
    })();
    return looking;
  }

  return {
    collection,
    async ensureIndexes() {
      await createDeclaredIndexes(collection, BLOCK_INDEXES);
    },
    async block(blockerId, blocked, at) {
      const _id = blockKey(blockerId, blocked.id);
      // $setOnInsert: blocking twice keeps the first time
      await collection.updateOne(
        { _id },
        {
          $setOnInsert: { blockerId, blockedId: blocked.id, blockedUsername: blocked.username, at },
        },
        { upsert: true },
      );
      keep(_id, true);
    },
    async unblock(blockerId, blockedId) {
      const _id = blockKey(blockerId, blockedId);
      await collection.deleteOne({ _id });
      known.delete(_id);
    },
    list(blockerId) {
      return collection.find({ blockerId }).sort({ at: 1 }).limit(BLOCKS_LIST_MAX).toArray();
    },
    blocks(blockerId, blockedId) {
      return readPair(blockKey(blockerId, blockedId));
    },
    async blocksRecently(blockerId, blockedId) {
      const key = blockKey(blockerId, blockedId);
      if (cacheTtlMs <= 0) return readPair(key);
      // blocks made elsewhere since the window began are in the copies before answering
      if (Date.now() - lookedAt >= cacheTtlMs) await lookAtRecent();
      const copy = known.get(key);
      if (copy && !(copy.blocked && Date.now() - copy.readAt >= cacheTtlMs)) return copy.blocked;
      // both ways in one read: the answer to the other's send comes next
      const reverse = blockKey(blockedId, blockerId);
      const readAt = Date.now();
      const rows = await collection
        .find({ _id: { $in: [key, reverse] } })
        .project<{ _id: string }>({ _id: 1 })
        .toArray();
      const found = new Set(rows.map((r) => r._id));
      if (reverse !== key) keep(reverse, found.has(reverse), readAt);
      keep(key, found.has(key), readAt);
      return found.has(key);
    },
    async blockersAmong(blockedId, candidates) {
      if (candidates.length === 0) return new Set();
      // by who is blocked (few blockers each), not by the candidates: a room's
      // member list would make a query as long as the room
      const rows = await collection
        .find({ blockedId })
        .project<{ blockerId: string }>({ blockerId: 1 })
        .toArray();
      const wanted = new Set(candidates);
      return new Set(rows.map((r) => r.blockerId).filter((id) => wanted.has(id)));
    },
  };
}
