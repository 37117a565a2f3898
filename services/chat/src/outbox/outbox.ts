// The transactional outbox (docs/design.md §4.11, §7.2), one mechanism for every state change.
// Without multi-document transactions the change and its events must be ONE
// single-document write, so each changed document carries its own pending events:
//
//   outbox:      { <eventId>: { type, at, body } }   the event exactly as it will be sent
//   outboxCount: number                             how many are pending
//   outboxDueAt: Date                               indexed; set while anything is pending
//
// After the write the events are published at once (fast path) and removed from the
// document once RabbitMQ confirms, in batches: one updateMany clears every document
// whose only pending event was just confirmed. A relay pass republishes whatever is still pending
// after a grace period (broker down, publish timed out, process died between store
// and publish). Delivery is at least once: events carry ids and consumers dedupe.
// Events are stored as JSON text so reaction emoji never become field names.
import type { ParleyEvent } from '@parley/contracts';
import type { EventPublisher, Logger } from '@parley/server-kit';
import type { Collection, Document, IndexDescription } from 'mongodb';
import type { ChatMetrics } from '../chat-metrics';
import { createCoalescedWrites } from '../storage/coalesced-writes';

export interface OutboxEntry {
  type: string;
  at: Date;
  body: string;
}

export interface OutboxFields {
  outbox?: Record<string, OutboxEntry>;
  outboxCount?: number;
  outboxDueAt?: Date;
}

/** The index the relay's query runs on; every outbox collection declares it. */
export const OUTBOX_INDEX: IndexDescription = { key: { outboxDueAt: 1 }, name: 'outbox_due' };

function entryOf(event: ParleyEvent, now: Date): OutboxEntry {
  return { type: event.type, at: now, body: JSON.stringify(event) };
}

/** Fields for a document inserted together with its events. */
export function outboxFieldsFor(events: readonly ParleyEvent[], now: Date): OutboxFields {
  if (events.length === 0) return {};
  return {
    outbox: Object.fromEntries(events.map((e) => [e.id, entryOf(e, now)])),
    outboxCount: events.length,
    outboxDueAt: now,
  };
}

export interface OutboxUpdate {
  $set: Record<string, unknown>;
  $inc?: Record<string, number>;
  $min?: Record<string, Date>;
  $unset?: Record<string, ''>;
}

/** Merges "append these events" into an update, so change and events are one write. */
export function withOutbox(
  update: { $set: Record<string, unknown>; $unset?: Record<string, ''> },
  events: readonly ParleyEvent[],
  now: Date,
): OutboxUpdate {
  if (events.length === 0) return update;
  const $set: Record<string, unknown> = { ...update.$set };
  for (const event of events) $set[`outbox.${event.id}`] = entryOf(event, now);
  return {
    ...update,
    $set,
    $inc: { outboxCount: events.length },
    $min: { outboxDueAt: now },
  };
}

interface PublishedMark {
  docId: unknown;
  eventId: string;
}

/** Published events marked per write at most (one updateMany, its $or one clause each). */
const MARK_BATCH_MAX = 200;

const CLEAR_OUTBOX = { outbox: '', outboxCount: '', outboxDueAt: '' } as const;

/** After a failure the relay keeps looking for this long past the grace period. */
const RECENT_FAILURE_SLACK_MS = 5_000;

export interface Outbox {
  /** Publishes events just stored on a document (fast path). Never throws. */
  dispatch(collection: string, docId: unknown, events: readonly ParleyEvent[]): void;
  /** Best effort for events that are not stored (typing): dropped when the broker is down. */
  publishEphemeral(event: ParleyEvent): void;
  /** One relay pass; resolves with the number of events it confirmed. */
  relayPending(): Promise<number>;
  /**
   * Whether the relay's loop has reason to look now: the last pass found pending events,
   * or a publish or mark of this process failed lately (within the grace period and a
   * few seconds). Otherwise the loop looks only now and then (a dead instance's events).
   */
  wantsPass(): boolean;
  /** Documents with pending events, across every outbox collection. */
  countPending(): Promise<number>;
  /** Resolves when the publishes in flight have settled (for shutdown and tests). */
  drain(): Promise<void>;
}

export interface OutboxOptions {
  publisher: EventPublisher<ParleyEvent>;
  /** Every collection whose documents carry outbox fields, by name. */
  collections: Record<string, Collection<Document>>;
  logger: Logger;
  metrics: ChatMetrics;
  /** A pending event younger than this is left to the fast path; default 2 s. */
  graceMs?: number;
  /** Documents per collection per relay pass; default 200. */
  batchSize?: number;
  /** When false the relay skips its pass and typing is dropped; default always true. */
  isConnected?: () => boolean;
  now?: () => Date;
}

export function createOutbox(options: OutboxOptions): Outbox {
  const { publisher, logger, metrics } = options;
  const log = logger.child({ component: 'outbox' });
  const graceMs = options.graceMs ?? 2_000;
  const batchSize = options.batchSize ?? 200;
  const isConnected = options.isConnected ?? (() => true);
  const now = options.now ?? (() => new Date());
  // ids being published by this process: the relay must not send them a second time
  const inFlight = new Map<string, Promise<boolean>>();
  // ids that left inFlight since the relay's current pass read its documents: that
  // read may predate their mark, so the pass must not send them again
  const settledDuringPass = new Set<string>();
  let passRunning = false;
  // a fresh process looks at once: a predecessor may have left events
  let foundPending = true;
  let lastFailureAt = -Infinity;
  const ephemeral = new Set<Promise<void>>();

  function collection(name: string) {
    const col = options.collections[name];
    if (!col) throw new Error(`Not an outbox collection: ${name}`);
    return col;
  }

  // Removes one document's published events, each conditional on still being there.
  // Common case, one write: they are all the document's pending events. Otherwise they
  // are removed together and the fields cleared if nothing else is pending; and when
  // one of them was removed meanwhile (the relay sent it too), one at a time.
  async function markDoc(name: string, docId: unknown, eventIds: readonly string[]) {
    const col = collection(name);
    const _id = docId as Document['_id'];
    const paths = eventIds.map((id) => `outbox.${id}`);
    const present = Object.fromEntries(paths.map((path) => [path, { $exists: true }]));
    const all = await col.updateOne(
      { _id, outboxCount: eventIds.length, ...present },
      { $unset: CLEAR_OUTBOX },
    );
    if (all.modifiedCount === 1) return;
    const some = await col.updateOne(
      { _id, ...present },
      {
        $unset: Object.fromEntries(paths.map((path) => [path, ''])),
        $inc: { outboxCount: -eventIds.length },
      },
    );
    if (some.modifiedCount === 0) {
      if (eventIds.length > 1) for (const id of eventIds) await markDoc(name, docId, [id]);
      return;
    }
    // both conditional single-document writes: an event pushed meanwhile keeps the count above 0
    await col.updateOne({ _id, outboxCount: { $lte: 0 } }, { $unset: CLEAR_OUTBOX });
  }

  // Marks a batch of published events with as few writes as it can: the documents
  // whose only pending event is the one just published (a new message: the common
  // case) are cleared by ONE updateMany for the whole batch; every other document gets
  // one markDoc for all of its events in the batch, the documents side by side. Which
  // documents the updateMany left is not reported, so when it left some, one read by
  // _id finds those still holding their event.
  async function markBatch(name: string, batch: readonly PublishedMark[]): Promise<void> {
    const perDoc = new Map<string, { docId: unknown; eventIds: string[] }>();
    for (const { docId, eventId } of batch) {
      const key = String(docId);
      const entry = perDoc.get(key) ?? { docId, eventIds: [] };
      entry.eventIds.push(eventId);
      perDoc.set(key, entry);
    }
    const docs = [...perDoc.values()];
    const alone = docs.filter((doc) => doc.eventIds.length === 1);
    let rest = docs.filter((doc) => doc.eventIds.length > 1);
    if (alone.length > 0) {
      const result = await collection(name).updateMany(
        {
          _id: { $in: alone.map((doc) => doc.docId as Document['_id']) },
          outboxCount: 1,
          $or: alone.map((doc) => ({
            _id: doc.docId as Document['_id'],
            [`outbox.${doc.eventIds[0]}`]: { $exists: true },
          })),
        },
        { $unset: CLEAR_OUTBOX },
      );
      if (result.modifiedCount < alone.length) {
        const left = await collection(name)
          .find(
            { _id: { $in: alone.map((doc) => doc.docId as Document['_id']) } },
            { projection: { outbox: 1 } },
          )
          .toArray();
        const pending = new Map(
          left.map((doc) => [String(doc._id), (doc as OutboxFields).outbox ?? {}]),
        );
        const uncleared = alone.filter(
          (doc) => doc.eventIds[0]! in (pending.get(String(doc.docId)) ?? {}),
        );
        rest = [...rest, ...uncleared];
      }
    }
    await Promise.all(rest.map((doc) => markDoc(name, doc.docId, doc.eventIds)));
  }

  // Group commit per collection (coalesced-writes.ts): the marks confirmed while a batch
  // of their collection is being written go together in the next one, so the writes
  // per event fall as the rate rises, and a lone event is marked at once.
  const marks = createCoalescedWrites<PublishedMark[]>(
    async (name, batch) => {
      for (let from = 0; from < batch.length; from += MARK_BATCH_MAX) {
        await markBatch(name, batch.slice(from, from + MARK_BATCH_MAX));
      }
    },
    (gathered, more) => {
      gathered.push(...more); // each caller's array is its own
      return gathered;
    },
  );

  function markPublished(name: string, docId: unknown, eventId: string): Promise<void> {
    return marks.write(name, [{ docId, eventId }]);
  }

  function publishOne(name: string, docId: unknown, event: ParleyEvent): Promise<boolean> {
    const running = inFlight.get(event.id);
    if (running) return running;
    const attempt = (async () => {
      try {
        await publisher.publish(event);
      } catch (err) {
        metrics.publishFailures.inc({ type: event.type });
        lastFailureAt = now().getTime();
        log.warn(
          { err, eventId: event.id, type: event.type },
          'event not confirmed; the relay retries it',
        );
        return false;
      }
      metrics.eventsPublished.inc({ type: event.type });
      try {
        await markPublished(name, docId, event.id);
      } catch (err) {
        // the event went out; the relay sends it once more later, which consumers dedupe
        lastFailureAt = now().getTime();
        log.warn(
          { err, eventId: event.id },
          'published event could not be marked; it will be sent again',
        );
      }
      return true;
    })().finally(() => {
      inFlight.delete(event.id);
      if (passRunning) settledDuringPass.add(event.id);
    });
    inFlight.set(event.id, attempt);
    return attempt;
  }

  return {
    dispatch(name, docId, events) {
      // called in order, so the channel sends them in order; not awaited by requests
      for (const event of events) void publishOne(name, docId, event);
    },

    publishEphemeral(event) {
      if (!isConnected()) return;
      const attempt = publisher.publish(event).then(
        () => {
          metrics.eventsPublished.inc({ type: event.type });
        },
        (err: unknown) => {
          metrics.publishFailures.inc({ type: event.type });
          log.debug({ err, type: event.type }, 'ephemeral event dropped');
        },
      );
      ephemeral.add(attempt);
      void attempt.finally(() => ephemeral.delete(attempt));
    },

    async relayPending() {
      if (!isConnected() || passRunning) return 0; // one pass at a time (the relay's loop)
      const dueBefore = new Date(now().getTime() - graceMs);
      const attempts: Promise<boolean>[] = [];
      passRunning = true;
      let found = 0;
      try {
        for (const name of Object.keys(options.collections)) {
          const docs = await collection(name)
            .find({ outboxDueAt: { $lte: dueBefore } }, { projection: { outbox: 1 } })
            .sort({ outboxDueAt: 1 })
            .limit(batchSize)
            .toArray();
          found += docs.length;
          for (const doc of docs) {
            const outbox = (doc as OutboxFields).outbox ?? {};
            const entries = Object.entries(outbox).sort(
              ([, a], [, b]) => a.at.getTime() - b.at.getTime(),
            );
            for (const [id, entry] of entries) {
              if (inFlight.has(id) || settledDuringPass.has(id)) continue;
              attempts.push(publishOne(name, doc._id, JSON.parse(entry.body) as ParleyEvent));
            }
          }
        }
      } finally {
        passRunning = false;
        settledDuringPass.clear();
      }
      foundPending = found > 0;
      const results = await Promise.all(attempts);
      const published = results.filter(Boolean).length;
      if (published > 0) log.info({ published }, 'relay published pending events');
      return published;
    },

    wantsPass() {
      return foundPending || now().getTime() - lastFailureAt < graceMs + RECENT_FAILURE_SLACK_MS;
    },

    async countPending() {
      let total = 0;
      for (const name of Object.keys(options.collections)) {
        total += await collection(name).countDocuments({ outboxDueAt: { $gte: new Date(0) } });
      }
      return total;
    },

    async drain() {
      await Promise.allSettled([...inFlight.values(), ...ephemeral]);
    },
  };
}
