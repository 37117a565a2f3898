// Outgoing webhooks in MongoDB (docs/design.md §12): the registrations (`webhooks`),
// the deliveries of each (`webhook_deliveries`: those still owed, oldest first per
// webhook, are the delivery worker's per-webhook queue; a delivery that succeeded keeps
// its document, turned into the record of that attempt by the one write that settles
// it) and the failed attempts (`webhook_attempts`). The last attempts of a webhook are
// the newest of both. Registration is chat's; the two others are the delivery worker's.
import type { WebhookAttempt, WebhookEventType } from '@parley/contracts';
import {
  MongoBulkWriteError,
  ObjectId,
  type Collection,
  type Db,
  type Document,
  type Filter,
  type IndexDescription,
} from 'mongodb';
import { createDeclaredIndexes } from '../storage/mongo-indexes';
import { isDuplicateKeyError } from '../storage/retry-backoff';

export interface WebhookDoc {
  _id: ObjectId;
  roomId: string;
  url: string;
  events: WebhookEventType[];
  /** HMAC key; only ever answered once, at registration. */
  secret: string;
  createdBy: string;
  createdAt: Date;
  /** When deliveries began failing without a success since; unset after one succeeds. */
  failingSince?: Date;
  disabledAt?: Date;
}

export interface DeliveryDoc {
  /** Ascending in the order the worker took the events in: the delivery order. */
  _id: ObjectId;
  webhookId: string;
  /** The event id, sent as X-Parley-Delivery; unique per webhook. */
  deliveryId: string;
  eventType: string;
  /** The exact JSON sent (signed as is). */
  body: string;
  attempts: number;
  nextAttemptAt: Date;
}

/** A delivery that succeeded: its body and schedule are gone, the attempt is kept. */
export interface DeliveredDoc {
  _id: ObjectId;
  webhookId: string;
  deliveryId: string;
  eventType: string;
  attempts: number;
  /** The successful attempt; `id` orders it among the failed ones (webhook_attempts' _id). */
  succeeded: WebhookAttempt & { id: ObjectId };
}

export interface AttemptDoc extends WebhookAttempt {
  _id: ObjectId;
  webhookId: string;
}

/** A delivery still owed (a delivered one has neither body nor nextAttemptAt). */
const OWED = { nextAttemptAt: { $exists: true } };
const DELIVERED = { succeeded: { $exists: true } };

export const WEBHOOKS_COLLECTION = 'webhooks';
export const DELIVERIES_COLLECTION = 'webhook_deliveries';
export const ATTEMPTS_COLLECTION = 'webhook_attempts';

export interface WebhookStore {
  readonly webhooks: Collection<WebhookDoc>;
  readonly deliveries: Collection<DeliveryDoc>;
  readonly attempts: Collection<AttemptDoc>;
  ensureIndexes(): Promise<void>;
  insert(doc: Omit<WebhookDoc, '_id'>): Promise<WebhookDoc>;
  listForRoom(roomId: string): Promise<WebhookDoc[]>;
  /** Active webhooks of these rooms (one find for all). */
  activeIn(roomIds: string[]): Promise<WebhookDoc[]>;
  findInRoom(roomId: string, id: ObjectId): Promise<WebhookDoc | null>;
  findById(id: string): Promise<WebhookDoc | null>;
  /** Removes the webhook, what it was still owed and its attempts. */
  remove(id: ObjectId): Promise<boolean>;
  /**
   * Queues deliveries in one insert, in the order given; answers those stored, without
   * the ones whose event was queued for that webhook already (a redelivery).
   */
  enqueue(deliveries: DeliveryDoc[]): Promise<DeliveryDoc[]>;
  /** The oldest deliveries owed to the webhook, at most `limit`, oldest first. */
  nextDeliveries(webhookId: string, limit: number): Promise<DeliveryDoc[]>;
  /** Webhooks with deliveries owed (a starting worker resumes them). */
  webhooksWithDeliveries(): Promise<string[]>;
  /**
   * Settles a delivery with its successful attempt, in one write (the delivery's document
   * becomes the attempt's record); with `trim`, also drops all but the newest `keep`
   * records of successes. False when the delivery was no longer owed (the webhook was
   * removed meanwhile).
   */
  delivered(
    delivery: DeliveryDoc,
    attempt: WebhookAttempt,
    keep: number,
    trim?: boolean,
  ): Promise<boolean>;
  retryLater(delivery: DeliveryDoc, at: Date): Promise<void>;
  /** Records a failed attempt; with `trim`, also drops all but the newest `keep`. */
  recordAttempt(
    webhookId: string,
    attempt: WebhookAttempt,
    keep: number,
    trim?: boolean,
  ): Promise<void>;
  /** The newest attempts, failed and successful, newest first. */
  recentAttempts(webhookId: string, limit: number): Promise<AttemptDoc[]>;
  /** Drops what the webhook is still owed (the records of its attempts stay). */
  dropOwed(webhookId: string): Promise<void>;
  markFailing(id: string, since: Date): Promise<void>;
  markHealthy(id: string): Promise<void>;
  /** Disables the webhook and drops what it was still owed. */
  disable(id: string, at: Date): Promise<void>;
}

const INDEXES: Record<string, IndexDescription[]> = {
  [WEBHOOKS_COLLECTION]: [{ key: { roomId: 1 }, name: 'room' }],
  [DELIVERIES_COLLECTION]: [
    { key: { webhookId: 1, deliveryId: 1 }, name: 'webhook_delivery', unique: true },
    { key: { webhookId: 1, _id: 1 }, name: 'webhook_order' },
  ],
  [ATTEMPTS_COLLECTION]: [{ key: { webhookId: 1, _id: -1 }, name: 'webhook_recent' }],
};

export function createWebhookStore(db: Db): WebhookStore {
  const webhooks = db.collection<WebhookDoc>(WEBHOOKS_COLLECTION);
  const deliveries = db.collection<DeliveryDoc>(DELIVERIES_COLLECTION);
  const attempts = db.collection<AttemptDoc>(ATTEMPTS_COLLECTION);

  return {
    webhooks,
    deliveries,
    attempts,
    async ensureIndexes() {
      for (const [name, indexes] of Object.entries(INDEXES)) {
        await createDeclaredIndexes(db.collection<Document>(name), indexes);
      }
    },
    async insert(doc) {
      const _id = new ObjectId();
      await webhooks.insertOne({ _id, ...doc });
      return { _id, ...doc };
    },
    listForRoom(roomId) {
      return webhooks.find({ roomId }).sort({ _id: 1 }).toArray();
    },
    async activeIn(roomIds) {
      const all = await webhooks
        .find(
          roomIds.length === 1 ? { roomId: roomIds[0] as string } : { roomId: { $in: roomIds } },
        )
        .toArray();
      return all.filter((w) => w.disabledAt === undefined);
    },
    findInRoom(roomId, id) {
      return webhooks.findOne({ _id: id, roomId });
    },
    findById(id) {
      return /^[0-9a-f]{24}$/i.test(id)
        ? webhooks.findOne({ _id: ObjectId.createFromHexString(id) })
        : Promise.resolve(null);
    },
    async remove(id) {
      const result = await webhooks.deleteOne({ _id: id });
      await deliveries.deleteMany({ webhookId: id.toHexString() });
      await attempts.deleteMany({ webhookId: id.toHexString() });
      return result.deletedCount === 1;
    },
    async enqueue(docs) {
      if (docs.length === 0) return [];
      try {
        await deliveries.insertMany(docs, { ordered: false });
        return docs;
      } catch (err) {
        // each one is tried (unordered): only those that were queued already failed
        if (!(err instanceof MongoBulkWriteError)) throw err;
        const failed = [err.writeErrors].flat();
        if (!failed.every(isDuplicateKeyError)) throw err;
        const duplicates = new Set(failed.map((e) => e.index));
        return docs.filter((_doc, index) => !duplicates.has(index));
      }
    },
    nextDeliveries(webhookId, limit) {
      return deliveries
        .find({ webhookId, ...OWED })
        .sort({ _id: 1 })
        .limit(limit)
        .toArray();
    },
    async webhooksWithDeliveries() {
      const ids = await deliveries.distinct('webhookId', OWED);
      return ids.map(String);
    },
    async delivered(delivery, attempt, keep, trim = true) {
      const succeeded = { id: new ObjectId(), ...attempt };
      const result = await deliveries.updateOne(
        { _id: delivery._id, ...OWED },
        { $set: { succeeded, attempts: attempt.attempt }, $unset: { body: '', nextAttemptAt: '' } },
      );
      if (result.matchedCount === 0) return false;
      if (trim) await trimOldest(deliveries, { webhookId: delivery.webhookId, ...DELIVERED }, keep);
      return true;
    },
    async retryLater(delivery, at) {
      await deliveries.updateOne(
        { _id: delivery._id },
        { $set: { nextAttemptAt: at }, $inc: { attempts: 1 } },
      );
    },
    async recordAttempt(webhookId, attempt, keep, trim = true) {
      await attempts.insertOne({ _id: new ObjectId(), webhookId, ...attempt });
      if (trim) await trimOldest(attempts, { webhookId }, keep);
    },
    async recentAttempts(webhookId, limit) {
      const [failed, succeeded] = await Promise.all([
        attempts.find({ webhookId }).sort({ _id: -1 }).limit(limit).toArray(),
        // in delivery order, which is the order they succeeded in
        (deliveries as unknown as Collection<DeliveredDoc>)
          .find({ webhookId, ...DELIVERED })
          .sort({ _id: -1 })
          .limit(limit)
          .toArray(),
      ]);
      const records: AttemptDoc[] = [
        ...failed,
        ...succeeded.map(({ succeeded: { id, ...attempt } }) => ({
          _id: id,
          webhookId,
          ...attempt,
        })),
      ];
      // one worker makes the ids, in the order of the attempts
      return records
        .sort((a, b) => b._id.toHexString().localeCompare(a._id.toHexString()))
        .slice(0, limit);
    },
    async dropOwed(webhookId) {
      await deliveries.deleteMany({ webhookId, ...OWED });
    },
    async markFailing(id, since) {
      await webhooks.updateOne(
        { _id: ObjectId.createFromHexString(id), failingSince: { $exists: false } },
        { $set: { failingSince: since } },
      );
    },
    async markHealthy(id) {
      await webhooks.updateOne(
        { _id: ObjectId.createFromHexString(id), failingSince: { $exists: true } },
        { $unset: { failingSince: '' } },
      );
    },
    async disable(id, at) {
      await webhooks.updateOne(
        { _id: ObjectId.createFromHexString(id) },
        { $set: { disabledAt: at } },
      );
      await deliveries.deleteMany({ webhookId: id, ...OWED });
    },
  };
}

/** Keeps the newest `keep` documents matching `filter`: everything older than the keep-th newest goes. */
async function trimOldest<T extends { _id: ObjectId }>(
  collection: Collection<T>,
  filter: Filter<T>,
  keep: number,
): Promise<void> {
  const [oldestKept] = await collection
    .find(filter, { projection: { _id: 1 } })
    .sort({ _id: -1 })
    .skip(keep - 1)
    .limit(1)
    .toArray();
  if (oldestKept)
    await collection.deleteMany({ ...filter, _id: { $lt: oldestKept._id } } as Filter<T>);
}
