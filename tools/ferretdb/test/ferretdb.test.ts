// What Parley's persistence code may rely on from the database (docs/design.md §8),
// checked against whatever the global setup provides: the FerretDB dev server
// here, MongoDB where Docker or MONGO_URL supplies one. Every test passes on both.
//
// Not served by FerretDB v1.24 (SQLite), so not used by Parley (see tools/ferretdb/README.md):
// TTL and partial indexes (error 238), transactions, change streams, arrayFilters,
// the positional `$` update, $lookup/$facet/$expr, $group accumulators other than
// $sum/$count, collation, text indexes. Silently wrong there: $elemMatch with a
// field condition ({a: 3}) matches nothing, $push's $slice is ignored, and a $group
// with two accumulators computes only the first. createIndexes with several
// indexes that all exist already drops the connection.
import { MongoClient, MongoServerError, ObjectId } from 'mongodb';
import type { Db } from 'mongodb';

import { testMongoUrl, uniqueName } from '@parley/testing';

let client: MongoClient;
let db: Db;

beforeAll(async () => {
  client = await MongoClient.connect(testMongoUrl());
  db = client.db();
});

afterAll(async () => {
  await db?.dropDatabase();
  await client?.close();
});

function collection<T extends object = Record<string, unknown>>() {
  return db.collection<T>(uniqueName('c'));
}

async function duplicateKeyCode(write: Promise<unknown>): Promise<number | undefined> {
  try {
    await write;
    return undefined;
  } catch (err) {
    if (err instanceof MongoServerError) return err.code as number;
    throw err;
  }
}

describe('database basics', () => {
  it('When pinged, then it answers ok: 1', async () => {
    await expect(db.command({ ping: 1 })).resolves.toMatchObject({ ok: 1 });
  });

  it('When a document with nested fields, a Date and an ObjectId is stored, then it reads back identical', async () => {
    const users = collection<{
      _id: ObjectId;
      profile: { name: string; tags: string[] };
      at: Date;
      text: string;
    }>();
    const doc = {
      _id: new ObjectId(),
      profile: { name: 'Zoë', tags: ['a', 'b'] },
      at: new Date('2024-05-01T12:34:56.789Z'),
      text: 'héllo 👋 \u0000 with a NUL',
    };
    await users.insertOne(doc);

    const found = await users.findOne({ _id: new ObjectId(doc._id.toHexString()) });

    expect(found).toEqual(doc);
    expect(found?._id).toBeInstanceOf(ObjectId);
    expect(found?.at).toBeInstanceOf(Date);
    await expect(users.findOne({ 'profile.name': 'Zoë' })).resolves.toEqual(doc);
  });
});

describe('unique indexes (seq and idempotency rely on them)', () => {
  it('When a duplicate value is inserted under a unique index, then the write fails with code 11000', async () => {
    const users = collection<{ username: string }>();
    await users.createIndex({ username: 1 }, { unique: true });
    await users.insertOne({ username: 'alice' });

    expect(await duplicateKeyCode(users.insertOne({ username: 'alice' }))).toBe(11000);
    expect(await users.countDocuments()).toBe(1);
  });

  it('When a compound unique index covers conversation and seq, then only the pair must be unique', async () => {
    const messages = collection<{ conversationId: string; seq: number }>();
    await messages.createIndex({ conversationId: 1, seq: 1 }, { unique: true });

    await messages.insertOne({ conversationId: 'c1', seq: 1 });
    await messages.insertOne({ conversationId: 'c2', seq: 1 });
    await messages.insertOne({ conversationId: 'c1', seq: 2 });

    expect(await duplicateKeyCode(messages.insertOne({ conversationId: 'c1', seq: 2 }))).toBe(
      11000,
    );
  });

  it('When 20 writers insert the same seq at once, then exactly one succeeds and the rest get 11000', async () => {
    const messages = collection<{ conversationId: string; seq: number }>();
    await messages.createIndex({ conversationId: 1, seq: 1 }, { unique: true });

    const codes = await Promise.all(
      Array.from({ length: 20 }, () =>
        duplicateKeyCode(messages.insertOne({ conversationId: 'c', seq: 1 })),
      ),
    );

    expect(codes.filter((code) => code === undefined)).toHaveLength(1);
    expect(codes.filter((code) => code === 11000)).toHaveLength(19);
  });

  it('When the same indexes are created again one by one, then the calls succeed and change nothing', async () => {
    // One createIndex per index: FerretDB v1.24 drops the connection (a panic) when
    // one createIndexes call lists two or more indexes that all exist already.
    const messages = collection();
    const ensureIndexes = async () => {
      await messages.createIndex({ conversationId: 1, seq: 1 }, { unique: true });
      await messages.createIndex(
        { conversationId: 1, senderId: 1, clientMsgId: 1 },
        { unique: true, sparse: true },
      );
    };
    await ensureIndexes();
    await ensureIndexes();

    const names = (await messages.indexes()).map((index) => index.name).sort();
    expect(names).toEqual([
      '_id_',
      'conversationId_1_senderId_1_clientMsgId_1',
      'conversationId_1_seq_1',
    ]);
  });

  it('When a sparse unique index is on an optional field, then many documents may lack it', async () => {
    const messages = collection<{ clientMsgId?: string }>();
    await messages.createIndex({ clientMsgId: 1 }, { unique: true, sparse: true });

    await messages.insertMany([{}, {}, { clientMsgId: 'x' }]);

    expect(await duplicateKeyCode(messages.insertOne({ clientMsgId: 'x' }))).toBe(11000);
  });

  it('When insertMany is unordered and one document is a duplicate, then the others are stored', async () => {
    const docs = collection<{ _id: number }>();
    const code = await duplicateKeyCode(
      docs.insertMany([{ _id: 1 }, { _id: 1 }, { _id: 2 }], { ordered: false }),
    );

    expect(code).toBe(11000);
    expect(await docs.countDocuments()).toBe(2);
  });
});

describe('single-document atomic updates', () => {
  it('When findOneAndUpdate upserts with $inc and $setOnInsert, then it returns the new document', async () => {
    const counters = collection<{ _id: string; n: number; createdBy: string }>();
    const update = (by: string) =>
      counters.findOneAndUpdate(
        { _id: 'conv-1' },
        { $inc: { n: 1 }, $setOnInsert: { createdBy: by } },
        { upsert: true, returnDocument: 'after' },
      );

    await expect(update('first')).resolves.toEqual({ _id: 'conv-1', n: 1, createdBy: 'first' });
    await expect(update('second')).resolves.toEqual({ _id: 'conv-1', n: 2, createdBy: 'first' });
  });

  it('When 50 updates $inc one document concurrently, then it ends at exactly 50', async () => {
    const counters = collection<{ _id: string; n: number }>();
    await counters.insertOne({ _id: 'k', n: 0 });

    await Promise.all(
      Array.from({ length: 50 }, () => counters.updateOne({ _id: 'k' }, { $inc: { n: 1 } })),
    );

    await expect(counters.findOne({ _id: 'k' })).resolves.toEqual({ _id: 'k', n: 50 });
  });

  it('When 50 findOneAndUpdate calls $inc concurrently, then each sees a different value', async () => {
    const counters = collection<{ _id: string; n: number }>();
    await counters.insertOne({ _id: 'k', n: 0 });

    const results = await Promise.all(
      Array.from({ length: 50 }, () =>
        counters.findOneAndUpdate({ _id: 'k' }, { $inc: { n: 1 } }, { returnDocument: 'after' }),
      ),
    );

    const seen = results.map((doc) => doc?.n).sort((a = 0, b = 0) => a - b);
    expect(seen).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
  });

  it('When 20 conditional updates race for one state change, then exactly one wins', async () => {
    const tokens = collection<{ _id: string; usedAt: Date | null; by?: number }>();
    await tokens.insertOne({ _id: 'refresh-1', usedAt: null });

    const results = await Promise.all(
      Array.from({ length: 20 }, (_, by) =>
        tokens.updateOne({ _id: 'refresh-1', usedAt: null }, { $set: { usedAt: new Date(), by } }),
      ),
    );

    expect(results.reduce((sum, result) => sum + result.modifiedCount, 0)).toBe(1);
  });

  it('When a document is changed with $set, $unset, $addToSet, $pull and $max, then each applies', async () => {
    const rooms = collection<{
      _id: string;
      name?: string;
      topic?: string;
      members: string[];
      reads: Record<string, number>;
    }>();
    await rooms.insertOne({ _id: 'r', name: 'old', topic: 't', members: ['u1'], reads: {} });

    await rooms.updateOne({ _id: 'r' }, { $set: { name: 'new' }, $unset: { topic: '' } });
    await rooms.updateOne({ _id: 'r' }, { $addToSet: { members: 'u2' } });
    await rooms.updateOne({ _id: 'r' }, { $addToSet: { members: 'u2' } });
    await rooms.updateOne({ _id: 'r' }, { $addToSet: { members: { $each: ['u3', 'u1'] } } });
    await rooms.updateOne({ _id: 'r' }, { $pull: { members: 'u1' } });
    await rooms.updateOne({ _id: 'r' }, { $max: { 'reads.u2': 7 } });
    await rooms.updateOne({ _id: 'r' }, { $max: { 'reads.u2': 3 } });

    await expect(rooms.findOne({ _id: 'r' })).resolves.toEqual({
      _id: 'r',
      name: 'new',
      members: ['u2', 'u3'],
      reads: { u2: 7 },
    });
  });

  it('When reactions are keyed by emoji in dotted paths, then add, query, pull and unset work', async () => {
    const messages = collection<{ _id: string; reactions: Record<string, string[]> }>();
    await messages.insertOne({ _id: 'm', reactions: {} });

    await messages.updateOne({ _id: 'm' }, { $addToSet: { 'reactions.👍': 'u1' } });
    await messages.updateOne(
      { _id: 'm' },
      { $addToSet: { 'reactions.👍': 'u2', 'reactions.❤️': 'u1' } },
    );
    await messages.updateOne({ _id: 'm' }, { $addToSet: { 'reactions.👨‍👩‍👧': 'u3' } });
    expect(await messages.countDocuments({ 'reactions.👍': 'u2' })).toBe(1);

    await messages.updateOne({ _id: 'm' }, { $pull: { 'reactions.👍': 'u1' } });
    await messages.updateOne({ _id: 'm' }, { $unset: { 'reactions.❤️': '' } });

    await expect(messages.findOne({ _id: 'm' })).resolves.toEqual({
      _id: 'm',
      reactions: { '👍': ['u2'], '👨‍👩‍👧': ['u3'] },
    });
  });
});

describe('queries', () => {
  const conversationMessages = async () => {
    const messages = collection<{ conversationId: string; seq: number; senderId: string }>();
    await messages.createIndex({ conversationId: 1, seq: 1 }, { unique: true });
    await messages.insertMany(
      Array.from({ length: 10 }, (_, i) => ({
        conversationId: 'c',
        seq: i + 1,
        senderId: i % 2 ? 'bob' : 'ann',
      })),
    );
    await messages.insertOne({ conversationId: 'other', seq: 1, senderId: 'bob' });
    return messages;
  };
  const seqs = (docs: { seq: number }[]) => docs.map((doc) => doc.seq);

  it('When paging by seq with sort and limit, then pages are the newest, before and after a cursor', async () => {
    const messages = await conversationMessages();

    const newest = await messages
      .find({ conversationId: 'c' })
      .sort({ seq: -1 })
      .limit(3)
      .toArray();
    const before = await messages
      .find({ conversationId: 'c', seq: { $lt: 8 } })
      .sort({ seq: -1 })
      .limit(3)
      .toArray();
    const after = await messages
      .find({ conversationId: 'c', seq: { $gt: 2 } })
      .sort({ seq: 1 })
      .limit(3)
      .toArray();

    expect(seqs(newest)).toEqual([10, 9, 8]);
    expect(seqs(before)).toEqual([7, 6, 5]);
    expect(seqs(after)).toEqual([3, 4, 5]);
  });

  it('When counting with a filter, then only matching documents count (unread count)', async () => {
    const messages = await conversationMessages();

    const unread = await messages.countDocuments({
      conversationId: 'c',
      seq: { $gt: 4 },
      senderId: { $ne: 'ann' },
    });

    expect(unread).toBe(3); // seq 6, 8, 10 are bob's
  });

  it('When filtering with $in and projecting, then only the listed ids come back with the chosen fields', async () => {
    const users = collection<{ _id: string; username: string; passwordHash: string }>();
    await users.insertMany(
      ['a', 'b', 'c'].map((id) => ({ _id: id, username: `user-${id}`, passwordHash: 'secret' })),
    );

    const found = await users
      .find({ _id: { $in: ['a', 'c', 'missing'] } }, { projection: { passwordHash: 0 } })
      .sort({ _id: 1 })
      .toArray();

    expect(found).toEqual([
      { _id: 'a', username: 'user-a' },
      { _id: 'c', username: 'user-c' },
    ]);
  });

  it('When querying an array field by one member, then documents containing it match', async () => {
    const conversations = collection<{ _id: string; members: string[]; lastSeq: number }>();
    await conversations.createIndex({ members: 1, lastSeq: -1 });
    await conversations.insertMany([
      { _id: 'x', members: ['ann', 'bob'], lastSeq: 5 },
      { _id: 'y', members: ['bob', 'cid'], lastSeq: 9 },
      { _id: 'z', members: ['ann', 'cid'], lastSeq: 1 },
    ]);

    const bobs = await conversations.find({ members: 'bob' }).sort({ lastSeq: -1 }).toArray();

    expect(bobs.map((doc) => doc._id)).toEqual(['y', 'x']);
  });

  it('When aggregating with $match, $group (one accumulator), $sort, then counts per group are right', async () => {
    const messages = await conversationMessages();

    const perSender = await messages
      .aggregate<{ _id: string; count: number }>([
        { $match: { conversationId: 'c' } },
        { $group: { _id: '$senderId', count: { $sum: 1 } } },
        { $sort: { _id: 1 } },
      ])
      .toArray();

    expect(perSender).toEqual([
      { _id: 'ann', count: 5 },
      { _id: 'bob', count: 5 },
    ]);
  });

  it('When deleting one and then many, then exactly those documents are gone', async () => {
    const messages = await conversationMessages();

    const one = await messages.deleteOne({ conversationId: 'c', seq: 1 });
    const many = await messages.deleteMany({ conversationId: 'c', seq: { $gt: 5 } });

    expect(one.deletedCount).toBe(1);
    expect(many.deletedCount).toBe(5);
    expect(seqs(await messages.find({ conversationId: 'c' }).sort({ seq: 1 }).toArray())).toEqual([
      2, 3, 4, 5,
    ]);
  });

  it('When a bulkWrite mixes insert, update and delete, then all apply in order', async () => {
    const docs = collection<{ _id: number; v?: number }>();

    const result = await docs.bulkWrite([
      { insertOne: { document: { _id: 1 } } },
      { insertOne: { document: { _id: 2 } } },
      { updateOne: { filter: { _id: 1 }, update: { $set: { v: 1 } } } },
      { deleteOne: { filter: { _id: 2 } } },
    ]);

    expect(result).toMatchObject({ insertedCount: 2, modifiedCount: 1, deletedCount: 1 });
    await expect(docs.find().toArray()).resolves.toEqual([{ _id: 1, v: 1 }]);
  });
});

// The dev server is built with tools/ferretdb/patches.json: it serves a filter's _id,
// one string equality or one presence-requiring comparison from an index, and leaves
// the rest of the filter to FerretDB's own matching. Results must stay MongoDB's.
describe('indexed lookups (what patches.json pushes down) keep MongoDB semantics', () => {
  const awkward = 'he said "hi" \\ é 👋 \u2028 </script>';

  const tagged = async () => {
    const docs = collection<{ _id: string; tag?: unknown; v: number; due?: Date | null }>();
    await docs.createIndex({ tag: 1 });
    await docs.createIndex({ due: 1 });
    await docs.insertMany([
      { _id: 'scalar', tag: 'a', v: 1, due: new Date('2024-01-01T00:00:00Z') },
      { _id: 'array', tag: ['b', 'a'], v: 2, due: new Date('2030-01-01T00:00:00Z') },
      { _id: 'other-array', tag: ['b'], v: 3, due: null },
      { _id: 'other', tag: 'b', v: 4 },
      { _id: 'missing', v: 5 },
      { _id: 'nested', tag: { a: 'a' }, v: 6 },
      { _id: 'number', tag: 7, v: 7 },
      { _id: 'awkward', tag: awkward, v: 8 },
    ]);
    return docs;
  };
  const ids = async (cursor: { toArray(): Promise<{ _id: string }[]> }) =>
    (await cursor.toArray()).map((doc) => doc._id).sort();

  it('When a string field is matched, then scalar and array holders match and others do not', async () => {
    const docs = await tagged();

    await expect(ids(docs.find({ tag: 'a' }))).resolves.toEqual(['array', 'scalar']);
    await expect(ids(docs.find({ tag: 'b', v: { $gt: 2 } }))).resolves.toEqual([
      'other',
      'other-array',
    ]);
    await expect(ids(docs.find({ tag: awkward }))).resolves.toEqual(['awkward']);
    await expect(docs.countDocuments({ tag: 'nope' })).resolves.toBe(0);
  });

  it('When _id is combined with other conditions, then those conditions still apply', async () => {
    const docs = await tagged();

    await expect(ids(docs.find({ _id: 'scalar', v: 1 }))).resolves.toEqual(['scalar']);
    await expect(ids(docs.find({ _id: 'scalar', v: 2 }))).resolves.toEqual([]);
    await expect(
      ids(docs.find({ _id: { $in: ['scalar', 'array', 'other', 'gone'] }, v: { $gte: 2 } })),
    ).resolves.toEqual(['array', 'other']);
    const refused = await docs.updateOne({ _id: 'scalar', v: 99 }, { $set: { v: 100 } });
    expect(refused.matchedCount).toBe(0);
  });

  it('When a field is compared or tested for presence, then missing and null follow MongoDB', async () => {
    const docs = await tagged();

    await expect(
      ids(docs.find({ due: { $lte: new Date('2025-01-01T00:00:00Z') } })),
    ).resolves.toEqual(['scalar']);
    await expect(ids(docs.find({ due: { $exists: true } }))).resolves.toEqual([
      'array',
      'other-array',
      'scalar',
    ]);
    await expect(ids(docs.find({ due: null }))).resolves.toEqual([
      'awkward',
      'missing',
      'nested',
      'number',
      'other',
      'other-array',
    ]);
    await expect(docs.countDocuments({ due: { $ne: null } })).resolves.toBe(2);
  });

  it('When the server is the dev FerretDB, then those filters are served by an index', async () => {
    const info = await db.command({ buildInfo: 1 });
    if (!('ferretdbVersion' in info)) return; // MongoDB plans differently; nothing to check
    const docs = await tagged();
    const plan = async (filter: Record<string, unknown>) => {
      const explained = await db.command({ explain: { find: docs.collectionName, filter } });
      return JSON.stringify(explained.queryPlanner);
    };

    expect(await plan({ _id: 'scalar', v: 1 })).toMatch(/USING INDEX \S+__id_/);
    expect(await plan({ _id: { $in: ['scalar', 'array'] } })).toMatch(/USING INDEX \S+__id_/);
    expect(await plan({ tag: 'a', v: { $gt: 0 } })).toMatch(/USING INDEX \S+_tag_1/);
    expect(await plan({ due: { $lte: new Date() } })).toMatch(/USING INDEX \S+_due_1/);
    expect(await plan({ v: { $ne: 1 } })).toMatch(/SCAN/);
  });
});
