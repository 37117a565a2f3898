// Outgoing webhooks in MongoDB (docs/design.md §12): the registrations (`webhooks`),
// the deliveries still owed to each (`webhook_deliveries`, oldest first per webhook:
// the delivery worker's per-webhook queue) and the last attempts (`webhook_attempts`).
// Registration is chat's; the two others are the delivery worker's.
import type { WebhookAttempt, WebhookEventType } from '@parley/contracts';
import { ObjectId, type Collection, type Db, type Document, type IndexDescription } from 'mongodb';
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

export interface AttemptDoc extends WebhookAttempt {
  _id: ObjectId;
  webhookId: string;
}

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
  /** Active webhooks of a room that asked for this event type. */
  activeFor(roomId: string, eventType: string): Promise<WebhookDoc[]>;
  findInRoom(roomId: string, id: ObjectId): Promise<WebhookDoc | null>;
  findById(id: string): Promise<WebhookDoc | null>;
  /** Removes the webhook, what it was still owed and its attempts. */
  remove(id: ObjectId): Promise<boolean>;
  /** Queues one delivery; false when this event was queued for it already (a redelivery). */
  enqueue(delivery: Omit<DeliveryDoc, '_id' | 'attempts'>): Promise<boolean>;
  /** The oldest delivery owed to the webhook. */
  nextDelivery(webhookId: string): Promise<DeliveryDoc | null>;
  /** Webhooks with deliveries owed (a starting worker resumes them). */
  webhooksWithDeliveries(): Promise<string[]>;
  delivered(delivery: DeliveryDoc): Promise<void>;
  retryLater(delivery: DeliveryDoc, at: Date): Promise<void>;
  /** Records an attempt; with `trim`, also drops all but the newest `keep`. */
  recordAttempt(
    webhookId: string,
    attempt: WebhookAttempt,
    keep: number,
    trim?: boolean,
  ): Promise<void>;
  recentAttempts(webhookId: string, limit: number): Promise<AttemptDoc[]>;
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
    async activeFor(roomId, eventType) {
      const all = await webhooks.find({ roomId }).toArray();
      return all.filter(
        (w) => w.disabledAt === undefined && (w.events as string[]).includes(eventType),
      );
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
    async enqueue(delivery) {
      try {
        await deliveries.insertOne({ _id: new ObjectId(), attempts: 0, ...delivery });
        return true;
      } catch (err) {
        if (isDuplicateKeyError(err)) return false;
        throw err;
      }
    },
    nextDelivery(webhookId) {
      return deliveries.findOne({ webhookId }, { sort: { _id: 1 } });
    },
    async webhooksWithDeliveries() {
      const ids = await deliveries.distinct('webhookId');
      return ids.map(String);
    },
    async delivered(delivery) {
      await deliveries.deleteOne({ _id: delivery._id });
    },
    async retryLater(delivery, at) {
      await deliveries.updateOne(
        { _id: delivery._id },
        { $set: { nextAttemptAt: at }, $inc: { attempts: 1 } },
      );
    },
    async recordAttempt(webhookId, attempt, keep, trim = true) {
      await attempts.insertOne({ _id: new ObjectId(), webhookId, ...attempt });
      if (!trim) return;
      // keep the newest `keep`: everything older than the keep-th newest goes
      const [oldestKept] = await attempts
        .find({ webhookId }, { projection: { _id: 1 } })
        .sort({ _id: -1 })
        .skip(keep - 1)
        .limit(1)
        .toArray();
      if (oldestKept) await attempts.deleteMany({ webhookId, _id: { $lt: oldestKept._id } });
    },
    recentAttempts(webhookId, limit) {
      return attempts.find({ webhookId }).sort({ _id: -1 }).limit(limit).toArray();
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
      await deliveries.deleteMany({ webhookId: id });
    },
  };
}
