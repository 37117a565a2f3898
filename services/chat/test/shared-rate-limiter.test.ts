// The limiter behind every per-user limit (src/rate-limits/shared-rate-limiter.ts),
// against the real test MongoDB with a hand-driven clock: the sliding window, the
// Retry-After it computes, what two instances over one database admit together, what
// it costs in database commands, and what it does while the database is away.
import { createSilentLogger, testMongoUrl, uniqueName } from '@parley/testing';
import { MongoClient, type CommandStartedEvent, type Db } from 'mongodb';
import {
  RATE_LIMIT_COLLECTION,
  createSharedRateLimiter,
  type SharedRateLimiter,
  type SharedRateLimiterOptions,
} from '../src/rate-limits/shared-rate-limiter';

let client: MongoClient;
let db: Db;
const commands: CommandStartedEvent[] = [];

beforeAll(async () => {
  client = await MongoClient.connect(testMongoUrl(uniqueName('limiter')), {
    monitorCommands: true,
    serverSelectionTimeoutMS: 5_000,
  });
  client.on('commandStarted', (event) => commands.push(event));
  db = client.db();
});
afterAll(async () => {
  await db.dropDatabase().catch(() => undefined);
  await client.close();
});

/** A clock the test moves; starts at a whole second. */
function clock(start = 1_700_000_000_000) {
  let t = start;
  return { now: () => t, advance: (ms: number) => void (t += ms) };
}

function limiter(
  now: () => number,
  options: Partial<SharedRateLimiterOptions> = {},
): SharedRateLimiter {
  return createSharedRateLimiter({
    db,
    syncIntervalMs: 0, // the tests call sync() themselves
    logger: createSilentLogger(),
    now,
    ...options,
  });
}

const key = () => uniqueName('user');

it('When a key uses its points, then the next take is refused with the wait until one leaves the window', () => {
  const time = clock();
  const limit = limiter(time.now).limit({ name: 'send', points: 3, windowMs: 10_000 });
  const user = key();

  const taken = [1, 2, 3].map(() => limit.take(user).ok);
  const refused = limit.take(user);

  expect(taken).toEqual([true, true, true]);
  expect(refused.ok).toBe(false);
  // all three sit in the current 2.5 s slice: it leaves the window 10 s to 12.5 s later
  const wait = refused.ok ? 0 : refused.retryAfterMs;
  expect(wait).toBeGreaterThanOrEqual(10_000);
  expect(wait).toBeLessThanOrEqual(12_500);
  time.advance(wait - 1);
  expect(limit.take(user).ok).toBe(false);
  time.advance(1);
  expect(limit.take(user).ok).toBe(true);
  // another key is not affected
  expect(limit.take(key()).ok).toBe(true);
});

it('When a rule allows one per 2 s, then the next gets through 2 to 2.5 s later, never sooner', () => {
  const time = clock(1_700_000_000_300);
  const limit = limiter(time.now).limit({ name: 'typing', points: 1, windowMs: 2_000 });
  const user = key();

  expect(limit.take(user).ok).toBe(true);
  const gaps: number[] = [];
  let last = time.now();
  for (let i = 0; i < 200; i++) {
    time.advance(50);
    if (limit.take(user).ok) {
      gaps.push(time.now() - last);
      last = time.now();
    }
  }

  expect(gaps.length).toBeGreaterThan(3);
  for (const gap of gaps) {
    expect(gap).toBeGreaterThanOrEqual(2_000);
    expect(gap).toBeLessThanOrEqual(2_550);
  }
});

it('When a cost is refunded, then it is available again', () => {
  const time = clock();
  const limit = limiter(time.now).limit({ name: 'send', points: 2, windowMs: 10_000 });
  const user = key();
  limit.take(user);
  limit.take(user);
  expect(limit.take(user).ok).toBe(false);

  limit.refund(user);

  expect(limit.take(user).ok).toBe(true);
});

it('When two instances over one database each admit part of a budget, then once synced each refuses what the other used', async () => {
  const time = clock();
  const rule = { name: uniqueName('shared'), points: 10, windowMs: 60_000 };
  const [a, b] = [limiter(time.now), limiter(time.now)];
  const [onA, onB] = [a.limit(rule), b.limit(rule)];
  const user = key();

  for (let i = 0; i < 6; i++) expect(onA.take(user).ok).toBe(true);
  await a.sync();
  // B saw the key (a refused-or-not take makes it active) and reads its global count
  expect(onB.take(user).ok).toBe(true);
  await b.sync();
  await a.sync();

  const moreOnB = [1, 2, 3, 4].map(() => onB.take(user).ok);
  expect(moreOnB).toEqual([true, true, true, false]); // 6 on A + 1 + 3 on B = 10
  await b.sync();
  // A has not been asked about the key since: it knows what it read last (7), so its
  // next take is judged on that, until its next sync reads the 10 (the documented bound)
  expect(onA.take(user).ok).toBe(true);
  await a.sync();
  expect(onA.take(user).ok).toBe(false);
  expect(onB.take(user).ok).toBe(false);
  const stored = await db
    .collection<{ _id: string; n: number }>(RATE_LIMIT_COLLECTION)
    .find({ _id: { $regex: `^${rule.name}\\|` } })
    .toArray();
  expect(stored.reduce((sum, doc) => sum + doc.n, 0)).toBe(11);
});

it('When instances do not sync in between, then together they admit at most the budget on each of them (the documented bound)', async () => {
  const time = clock();
  const rule = { name: uniqueName('burst'), points: 5, windowMs: 60_000 };
  const instances = [limiter(time.now), limiter(time.now), limiter(time.now)];
  const user = key();

  let admitted = 0;
  for (const instance of instances) {
    const limit = instance.limit(rule);
    for (let i = 0; i < 10; i++) if (limit.take(user).ok) admitted += 1;
  }
  expect(admitted).toBe(15); // N × points: the most a burst within one sync interval gets
  for (const instance of instances) await instance.sync();
  for (const instance of instances) await instance.sync();

  // once synced, the whole window is spent everywhere, and stays so until it slides
  for (const instance of instances) expect(instance.limit(rule).take(user).ok).toBe(false);
  time.advance(60_000 + 15_000);
  expect(instances[0]!.limit(rule).take(user).ok).toBe(true);
});

it('When many requests are admitted between two syncs, then a sync costs two database commands, and a limiter idle for 30 s none', async () => {
  const time = clock();
  const instance = limiter(time.now, { unwrittenShare: 0 }); // every admission is written
  const limit = instance.limit({ name: uniqueName('cost'), points: 1_000_000, windowMs: 10_000 });
  const users = Array.from({ length: 200 }, () => key());
  await instance.sync(); // nothing to do yet

  const before = commands.length;
  for (let i = 0; i < 5_000; i++) limit.take(users[i % users.length]!);
  const duringTakes = commands.length - before;
  await instance.sync();
  const bySync = commands.slice(before).map((c) => c.commandName);
  const afterBurst = commands.length;
  await instance.sync();
  const stillRecent = commands.slice(afterBurst).map((c) => c.commandName);
  time.advance(30_000);
  const beforeIdle = commands.length;
  await instance.sync();
  const idle = commands.length - beforeIdle;

  expect(duringTakes).toBe(0);
  expect(bySync).toEqual(['update', 'find']); // one bulkWrite of $inc upserts, one read back
  expect(stillRecent).toEqual(['find']); // recently active keys are read back: the others' counts
  expect(idle).toBe(0);
});

it('When a user stays well within a limit, then nothing is written for them; past an eighth of it, their count is', async () => {
  const time = clock();
  const instance = limiter(time.now);
  const limit = instance.limit({ name: uniqueName('quiet'), points: 60, windowMs: 10_000 });
  const user = key();

  const before = commands.length;
  for (let i = 0; i < 6; i++) limit.take(user);
  await instance.sync();
  const quiet = commands.slice(before).map((c) => c.commandName);
  const mark = commands.length;
  limit.take(user); // the 7th: an eighth of 60, rounded down
  await instance.sync();
  const busy = commands.slice(mark).map((c) => c.commandName);

  expect(quiet).toEqual(['find']);
  expect(busy).toEqual(['update', 'find']);
  const stored = await db
    .collection<{ _id: string; n: number }>(RATE_LIMIT_COLLECTION)
    .find({ _id: { $regex: `^quiet` } })
    .toArray();
  expect(stored.reduce((sum, doc) => sum + doc.n, 0)).toBeGreaterThanOrEqual(7);
});

it('When MongoDB is unreachable, then limits are still judged on the counts known and the failed sync is counted', async () => {
  const time = clock();
  const rule = { name: uniqueName('outage'), points: 3, windowMs: 60_000 };
  const unreachable = new MongoClient('mongodb://127.0.0.1:9/unreachable', {
    serverSelectionTimeoutMS: 200,
  });
  const failures: number[] = [];
  const cut = createSharedRateLimiter({
    db: unreachable.db(),
    syncIntervalMs: 0,
    logger: createSilentLogger(),
    now: time.now,
    onSyncFailure: () => failures.push(1),
  });
  const limit = cut.limit(rule);
  const user = key();

  const answers = [1, 2, 3, 4].map(() => limit.take(user).ok);
  await cut.sync();

  expect(answers).toEqual([true, true, true, false]);
  expect(failures).toHaveLength(1);
  await unreachable.close();
});

it('When slices have expired, then the periodic cleanup deletes them with one command', async () => {
  const time = clock();
  const instance = limiter(time.now);
  const rule = { name: uniqueName('cleanup'), points: 10, windowMs: 1_000 };
  instance.limit(rule).take(key());
  await instance.sync();
  const collection = db.collection<{ _id: string; n: number }>(RATE_LIMIT_COLLECTION);
  const mine = { _id: { $regex: `^${rule.name}\\|` } };
  expect(await collection.countDocuments(mine)).toBe(1);

  time.advance(61_000); // past the window and the cleanup interval
  instance.limit({ name: uniqueName('other'), points: 1, windowMs: 1_000 }).take(key());
  await instance.sync();

  expect(await collection.countDocuments(mine)).toBe(0);
  expect(instance.trackedKeys).toBe(1);
});
