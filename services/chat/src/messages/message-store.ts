// Messages in MongoDB, and the seq allocation docs/design.md §4.5 asks for: a message is
// inserted with seq = (highest stored seq) + 1 under the unique index
// {conversationId, seq}; a writer that loses the race gets E11000 and tries the next
// number. Nothing is reserved before the insert, so a failed write leaves no hole.
// Idempotency rides on a second unique index, on idempotencyKey = "<senderId>:<clientMsgId>":
// one field, so the lookup is an index hit on MongoDB and on FerretDB alike (FerretDB's
// SQLite backend uses an index only for a single-field equality and scans otherwise).
import { randomUUID } from 'node:crypto';
import type { Attachment, Message, ParleyEvent, UserRef } from '@parley/contracts';
import { DependencyUnavailableError, NotFoundError } from '@parley/server-kit';
import { ObjectId, type Collection, type Db, type Filter, type IndexDescription } from 'mongodb';
import { createDeclaredIndexes } from '../storage/mongo-indexes';
import type { Settled } from './send-queue';
import { OUTBOX_INDEX, type OutboxFields } from '../outbox/outbox';
import { backoff, isDuplicateKeyError } from '../storage/retry-backoff';
import {
  updateVersioned,
  type VersionedChange,
  type VersionedResult,
} from '../storage/versioned-update';

export interface ReactionGroup {
  emoji: string;
  userIds: string[];
}

export interface MessageDoc extends OutboxFields {
  _id: ObjectId;
  conversationId: string;
  seq: number;
  senderId: string;
  senderUsername: string;
  /** Empty once deleted. */
  text: string;
  /** The thread root (hex id) this message replies to. */
  parentId?: string;
  clientMsgId?: string;
  /**
   * `<senderId>:<clientMsgId>` when a clientMsgId is given, else a generated value no
   * client can send (it has a space): unique per sender and clientMsgId.
   */
  idempotencyKey: string;
  /** An array, not an object keyed by emoji: emoji make poor field names. */
  reactions: ReactionGroup[];
  /** Members the text names (messages/mentions.ts); mentionIds is the indexed copy. */
  mentions?: UserRef[];
  mentionIds?: string[];
  createdAt: Date;
  editedAt?: Date;
  deletedAt?: Date;
  /** Files sent with it (§11), as answered to the client; cleared on delete. */
  attachments?: Attachment[];
  version: number;
  /**
   * The chat instance that stored it: its new_message event is not stored with it but
   * derived, and that instance's relay checkpoint says whether it was confirmed
   * (outbox/message-relay.ts). Absent on messages stored before the relay existed.
   */
  origin?: string;
}

export const MESSAGES_COLLECTION = 'messages';

/** The stored idempotency key of a sender's clientMsgId (clientMsgIds have no spaces). */
export function idempotencyKeyOf(senderId: string, clientMsgId: string): string {
  return `${senderId}:${clientMsgId}`;
}

export const MESSAGE_INDEXES: IndexDescription[] = [
  // seq allocation and every history page
  { key: { conversationId: 1, seq: 1 }, name: 'conversation_seq', unique: true },
  // idempotent sends: the key carries the sender, so one field suffices
  { key: { idempotencyKey: 1 }, name: 'idempotency_key', unique: true },
  // thread replies
  { key: { conversationId: 1, parentId: 1, seq: 1 }, name: 'conversation_thread_seq' },
  // GET /chat/mentions, newest first
  { key: { mentionIds: 1, _id: -1 }, name: 'mentions' },
  OUTBOX_INDEX,
  // the relay's tail of one instance (outbox/message-relay.ts)
  { key: { origin: 1, createdAt: 1 }, name: 'origin_created' },
];

/** A message id from a URL or body: a 24-hex ObjectId, else nothing (404, never 500). */
export function parseMessageId(id: string): ObjectId | undefined {
  return /^[0-9a-f]{24}$/i.test(id) ? ObjectId.createFromHexString(id) : undefined;
}

export function toMessage(doc: MessageDoc): Message {
  const message: Message = {
    id: doc._id.toHexString(),
    conversationId: doc.conversationId,
    seq: doc.seq,
    sender: { id: doc.senderId, username: doc.senderUsername },
    text: doc.text,
    reactions: Object.fromEntries(doc.reactions.map((r) => [r.emoji, [...r.userIds]])),
    createdAt: doc.createdAt.toISOString(),
  };
  if (doc.parentId !== undefined) message.parentId = doc.parentId;
  if (doc.clientMsgId !== undefined) message.clientMsgId = doc.clientMsgId;
  if (doc.mentions?.length) message.mentions = doc.mentions.map((m) => ({ ...m }));
  if (doc.editedAt !== undefined) message.editedAt = doc.editedAt.toISOString();
  if (doc.deletedAt !== undefined) message.deletedAt = doc.deletedAt.toISOString();
  if (doc.attachments?.length) message.attachments = doc.attachments;
  return message;
}

export interface NewMessage {
  conversationId: string;
  sender: UserRef;
  text: string;
  clientMsgId?: string;
  parentId?: string;
  /** The message's id when it was chosen before the insert (attachments are claimed for it). */
  id?: ObjectId;
  attachments?: Attachment[];
  /** The storing instance (MessageDoc.origin). */
  origin?: string;
  mentions?: UserRef[];
}

/**
 * The next seq as far as this process knows, kept while sends to one conversation are
 * queued back to back (see send-queue.ts) so they skip re-reading the highest seq.
 * Any failure forgets it; a stale value only costs one duplicate-key retry.
 */
export interface SeqHint {
  lastSeq?: number;
}

export interface InsertAttempt {
  conversationId: string;
  seq: number;
  attempt: number;
}

/** A seam for tests: make chosen inserts fail as a crashed or refused write would. */
export interface MessageStoreHooks {
  beforeInsert?(attempt: InsertAttempt): void | Promise<void>;
}

export interface InsertResult {
  doc: MessageDoc;
  events: ParleyEvent[];
  /** False when the send repeated a clientMsgId: doc is the original. */
  created: boolean;
}

export interface PageOptions {
  before?: number;
  after?: number;
  limit: number;
}

export interface MessageStore {
  readonly collection: Collection<MessageDoc>;
  ensureIndexes(): Promise<void>;
  findById(id: string): Promise<MessageDoc | null>;
  findByIdempotencyKey(senderId: string, key: string): Promise<MessageDoc | null>;
  maxSeq(conversationId: string): Promise<number>;
  insertNext(
    input: NewMessage,
    makeEvents: (message: Message) => ParleyEvent[],
    hint?: SeqHint,
  ): Promise<InsertResult>;
  /**
   * Several sends to ONE conversation, queued together: consecutive seqs in one ordered
   * insertMany. From the first refused one on (a seq taken by another instance, a
   * repeated clientMsgId) the rest go through insertNext one by one. One outcome each.
   */
  insertBatch(
    inputs: readonly NewMessage[],
    makeEvents: (message: Message, index: number) => ParleyEvent[],
    hint?: SeqHint,
  ): Promise<Settled<InsertResult>[]>;
  /** Ascending seq; see docs/design.md §4.5 for which page each cursor gives. */
  page(
    conversationId: string,
    options: PageOptions,
  ): Promise<{ docs: MessageDoc[]; hasMore: boolean }>;
  replies(
    conversationId: string,
    parentId: string,
    options: { after?: number; limit: number },
  ): Promise<{ docs: MessageDoc[]; hasMore: boolean }>;
  countUnread(conversationId: string, userId: string, afterSeq: number): Promise<number>;
  /** Messages above afterSeq that mention the user (not deleted). */
  countMentions(conversationId: string, userId: string, afterSeq: number): Promise<number>;
  /** Messages that mention the user, newest first. */
  mentioning(userId: string, options: { before?: ObjectId; limit: number }): Promise<MessageDoc[]>;
  findBySeq(keys: { conversationId: string; seq: number }[]): Promise<MessageDoc[]>;
  update(
    id: ObjectId,
    decide: (current: MessageDoc) => VersionedChange<MessageDoc> | undefined,
  ): Promise<VersionedResult<MessageDoc>>;
}

export interface MessageStoreOptions {
  db: Db;
  now?: () => Date;
  hooks?: MessageStoreHooks;
  /** Seq conflicts tolerated per send before answering 503; default 50. */
  maxInsertAttempts?: number;
}

export function createMessageStore(options: MessageStoreOptions): MessageStore {
  const collection = options.db.collection<MessageDoc>(MESSAGES_COLLECTION);
  const now = options.now ?? (() => new Date());
  const hooks = options.hooks ?? {};
  const maxInsertAttempts = options.maxInsertAttempts ?? 50;

  async function maxSeq(conversationId: string): Promise<number> {
    const last = await collection.findOne(
      { conversationId },
      { sort: { seq: -1 }, projection: { seq: 1 } },
    );
    return last?.seq ?? 0;
  }

  function findByIdempotencyKey(senderId: string, clientMsgId: string) {
    return collection.findOne({ idempotencyKey: idempotencyKeyOf(senderId, clientMsgId) });
  }

  function keyOf(input: NewMessage): string {
    return input.clientMsgId !== undefined
      ? idempotencyKeyOf(input.sender.id, input.clientMsgId)
      : `~auto ${randomUUID()}`;
  }

  function newDoc(
    input: NewMessage,
    _id: ObjectId,
    idempotencyKey: string,
    seq: number,
  ): MessageDoc {
    const doc: MessageDoc = {
      _id,
      conversationId: input.conversationId,
      seq,
      senderId: input.sender.id,
      senderUsername: input.sender.username,
      text: input.text,
      idempotencyKey,
      reactions: [],
      createdAt: now(),
      version: 0,
    };
    if (input.parentId !== undefined) doc.parentId = input.parentId;
    if (input.clientMsgId !== undefined) doc.clientMsgId = input.clientMsgId;
    if (input.origin !== undefined) doc.origin = input.origin;
    if (input.attachments !== undefined) doc.attachments = input.attachments;
    if (input.mentions?.length) {
      doc.mentions = input.mentions;
      doc.mentionIds = input.mentions.map((m) => m.id);
    }
    return doc;
  }

  async function insertNext(
    input: NewMessage,
    makeEvents: (message: Message) => ParleyEvent[],
    hint: SeqHint = {},
  ): Promise<InsertResult> {
    const _id = input.id ?? new ObjectId();
    const idempotencyKey = keyOf(input);
    for (let attempt = 0; attempt < maxInsertAttempts; attempt++) {
      const seq =
        hint.lastSeq !== undefined ? hint.lastSeq + 1 : (await maxSeq(input.conversationId)) + 1;
      const doc = newDoc(input, _id, idempotencyKey, seq);
      // derived, not stored: the relay rebuilds them from the document
      const events = makeEvents(toMessage(doc));
      try {
        await hooks.beforeInsert?.({ conversationId: input.conversationId, seq, attempt });
        await collection.insertOne(doc);
        hint.lastSeq = seq;
        return { doc, events, created: true };
      } catch (err) {
        delete hint.lastSeq;
        if (!isDuplicateKeyError(err)) throw err;
        // E11000 names no index on every server (FerretDB), so ask: a repeat of this send?
        if (input.clientMsgId !== undefined) {
          const original = await findByIdempotencyKey(input.sender.id, input.clientMsgId);
          if (original) {
            // the key refused it, so the seq is likely still free: keep the hint
            hint.lastSeq = seq - 1;
            return { doc: original, events: [], created: false };
          }
        }
        await backoff(attempt);
      }
    }
    throw new DependencyUnavailableError(
      'Too many concurrent sends to this conversation; try again',
    );
  }

  async function oneByOne(
    inputs: readonly NewMessage[],
    makeEvents: (message: Message, index: number) => ParleyEvent[],
    hint: SeqHint,
  ): Promise<Settled<InsertResult>[]> {
    const outcomes: Settled<InsertResult>[] = [];
    for (const [i, input] of inputs.entries()) {
      try {
        outcomes.push({ ok: true, value: await insertNext(input, (m) => makeEvents(m, i), hint) });
      } catch (error) {
        outcomes.push({ ok: false, error });
      }
    }
    return outcomes;
  }

  return {
    collection,

    async ensureIndexes() {
      await createDeclaredIndexes(collection, MESSAGE_INDEXES);
    },

    async findById(id) {
      const _id = parseMessageId(id);
      return _id ? collection.findOne({ _id }) : null;
    },

    findByIdempotencyKey,
    maxSeq,

    insertNext,

    async insertBatch(inputs, makeEvents, hint = {}) {
      const first = inputs[0];
      // one alone, or a test seam that judges each insert: one at a time
      if (!first || inputs.length === 1 || hooks.beforeInsert) {
        return oneByOne(inputs, makeEvents, hint);
      }
      const base = hint.lastSeq ?? (await maxSeq(first.conversationId));
      const docs = inputs.map((input, i) =>
        newDoc(input, input.id ?? new ObjectId(), keyOf(input), base + 1 + i),
      );
      const events = docs.map((doc, i) => makeEvents(toMessage(doc), i));
      try {
        await collection.insertMany(docs, { ordered: true });
        hint.lastSeq = base + docs.length;
        return docs.map((doc, i) => ({
          ok: true,
          value: { doc, events: events[i]!, created: true },
        }));
      } catch (err) {
        delete hint.lastSeq;
        // ordered: what precedes the refused one is stored; ask which, whatever the error
        const ids = docs.map((d) => d._id);
        const stored = new Set(
          (await collection.find({ _id: { $in: ids } }, { projection: { _id: 1 } }).toArray()).map(
            (d) => d._id.toHexString(),
          ),
        );
        const done = docs.findIndex((d) => !stored.has(d._id.toHexString()));
        const storedCount = done === -1 ? docs.length : done;
        const outcomes: Settled<InsertResult>[] = docs
          .slice(0, storedCount)
          .map((doc, i) => ({ ok: true, value: { doc, events: events[i]!, created: true } }));
        if (storedCount > 0) hint.lastSeq = base + storedCount;
        const rest = inputs.slice(storedCount);
        if (!isDuplicateKeyError(err)) {
          return [
            ...outcomes,
            ...rest.map((): Settled<InsertResult> => ({ ok: false, error: err })),
          ];
        }
        const more = await oneByOne(rest, (m, i) => makeEvents(m, storedCount + i), hint);
        return [...outcomes, ...more];
      }
    },
    async page(conversationId, { before, after, limit }) {
      const ascending = after !== undefined;
      const filter: Filter<MessageDoc> = { conversationId };
      if (after !== undefined) filter.seq = { $gt: after };
      else if (before !== undefined) filter.seq = { $lt: before };
      const docs = await collection
        .find(filter)
        .sort({ seq: ascending ? 1 : -1 })
        .limit(limit + 1)
        .toArray();
      const hasMore = docs.length > limit;
      const pageDocs = docs.slice(0, limit);
      return { docs: ascending ? pageDocs : pageDocs.reverse(), hasMore };
    },

    async replies(conversationId, parentId, { after, limit }) {
      const docs = await collection
        .find({ conversationId, parentId, seq: { $gt: after ?? 0 } })
        .sort({ seq: 1 })
        .limit(limit + 1)
        .toArray();
      return { docs: docs.slice(0, limit), hasMore: docs.length > limit };
    },

    countUnread(conversationId, userId, afterSeq) {
      return collection.countDocuments({
        conversationId,
        seq: { $gt: afterSeq },
        senderId: { $ne: userId },
      });
    },

    countMentions(conversationId, userId, afterSeq) {
      return collection.countDocuments({
        mentionIds: userId,
        conversationId,
        seq: { $gt: afterSeq },
        senderId: { $ne: userId },
      });
    },

    mentioning(userId, { before, limit }) {
      return collection
        .find({ mentionIds: userId, ...(before ? { _id: { $lt: before } } : {}) })
        .sort({ _id: -1 })
        .limit(limit)
        .toArray();
    },

    async findBySeq(keys) {
      if (keys.length === 0) return [];
      return collection
        .find({ $or: keys.map((k) => ({ conversationId: k.conversationId, seq: k.seq })) })
        .toArray();
    },

    update(id, decide) {
      return updateVersioned(collection, id, decide, {
        now,
        notFound: () => new NotFoundError('No such message', { code: 'message_not_found' }),
      });
    },
  };
}
