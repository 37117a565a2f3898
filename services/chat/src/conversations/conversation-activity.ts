// A conversation's last-message fields (lastSeq, lastMessageAt, updatedAt) written
// behind the sends: the sends of a short window (ACTIVITY_WRITE_DELAY_MS), whatever
// their conversation, are merged per conversation and written by ONE bulkWrite of
// $max updates, so the fields only move forward whatever order the writes land in. A
// send does not wait for it: its message is stored and announced before. Until the
// write lands, this instance's reads see the values through pending() (docs/design.md,
// "The conversation list"); other instances see them at most one window plus a write
// later. A failed write is merged back and retried with the next window.
import type { AnyBulkWriteOperation, Collection } from 'mongodb';

/** FerretDB stalls on large bulk writes: at most this many updates per command. */
export const ACTIVITY_BULK_MAX = 50;

export interface Activity {
  seq: number;
  at: Date;
}

export interface ConversationActivity {
  record(id: string, seq: number, at: Date): void;
  /** What this instance recorded for `id` that may not be stored yet. */
  pending(id: string): Activity | undefined;
  /** Writes everything recorded so far now (shutdown, tests); rejects if a write failed. */
  flush(): Promise<void>;
}

/** The fields of a conversation's document (conversation-store.ts) that are written here. */
export interface ActivityFields {
  _id: string;
  lastSeq: number;
  lastMessageAt: Date;
  updatedAt: Date;
}

export interface ConversationActivityOptions {
  /** The conversations collection, seen as the fields written here. */
  collection: Collection<ActivityFields>;
  /** How long records gather before their write; default 100 ms. */
  delayMs?: number;
  onWriteFailure?: (err: unknown) => void;
}

function merge(a: Activity | undefined, b: Activity): Activity {
  if (!a) return b;
  return { seq: Math.max(a.seq, b.seq), at: a.at > b.at ? a.at : b.at };
}

export function createConversationActivity(
  options: ConversationActivityOptions,
): ConversationActivity {
  const delayMs = options.delayMs ?? 100;
  let waiting = new Map<string, Activity>();
  let writing = new Map<string, Activity>();
  let timer: NodeJS.Timeout | undefined;

  async function write(batch: Map<string, Activity>): Promise<void> {
    const operations: AnyBulkWriteOperation<ActivityFields>[] = [...batch].map(
      ([id, { seq, at }]) => ({
        updateOne: {
          filter: { _id: id },
          update: { $max: { lastSeq: seq, lastMessageAt: at, updatedAt: at } },
        },
      }),
    );
    for (let from = 0; from < operations.length; from += ACTIVITY_BULK_MAX) {
      await options.collection.bulkWrite(operations.slice(from, from + ACTIVITY_BULK_MAX), {
        ordered: false,
      });
    }
  }

  // one write at a time, in order: a flush asked for during a write follows it
  let chain: Promise<void> = Promise.resolve();

  async function writeWaiting(): Promise<void> {
    if (waiting.size === 0) return;
    writing = waiting;
    waiting = new Map();
    try {
      await write(writing);
    } catch (err) {
      // $max makes a second write harmless: merged back, written with the next window
      for (const [id, activity] of writing) waiting.set(id, merge(waiting.get(id), activity));
      options.onWriteFailure?.(err);
      schedule();
      throw err;
    } finally {
      writing = new Map();
    }
  }

  function flushNow(): Promise<void> {
    clearTimeout(timer);
    timer = undefined;
    const next = chain.then(writeWaiting);
    chain = next.catch(() => undefined);
    return next;
  }

  function schedule(): void {
    if (timer) return;
    timer = setTimeout(() => void flushNow().catch(() => undefined), delayMs);
    timer.unref();
  }

  return {
    record(id, seq, at) {
      waiting.set(id, merge(waiting.get(id), { seq, at }));
      schedule();
    },
    pending(id) {
      const a = waiting.get(id);
      const b = writing.get(id);
      return a && b ? merge(a, b) : (a ?? b);
    },
    flush: flushNow,
  };
}
