// Who blocks whom (docs/design.md §10): one document per (blocker, blocked).
import type { UserRef } from '@parley/contracts';
import type { Collection, Db, Document, IndexDescription } from 'mongodb';
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
];

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
  /** Of `candidates`, those who block `blockedId` (one query by blockedId). */
  blockersAmong(blockedId: string, candidates: readonly string[]): Promise<Set<string>>;
}

export function createBlockStore(options: { db: Db }): BlockStore {
  const collection = options.db.collection<BlockDoc>(BLOCKS_COLLECTION);
  return {
    collection,
    async ensureIndexes() {
      await createDeclaredIndexes(collection as unknown as Collection<Document>, BLOCK_INDEXES);
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
    },
    async unblock(blockerId, blockedId) {
      await collection.deleteOne({ _id: blockKey(blockerId, blockedId) });
    },
    list(blockerId) {
      return collection.find({ blockerId }).sort({ at: 1 }).limit(BLOCKS_LIST_MAX).toArray();
    },
    async blocks(blockerId, blockedId) {
      return (await collection.countDocuments({ _id: blockKey(blockerId, blockedId) })) > 0;
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
