// Pure pieces without infrastructure: config defaults, direct conversation ids, the
// conversations cursor, the per-conversation send queue and the user directory cache.
import { createServer } from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { createCoalescedWrites } from '../src/storage/coalesced-writes';
import { loadChatConfig, userLimitsOf } from '../src/config';
import { DEFAULT_USER_LIMITS } from '../src/rate-limits/user-limits';
import { decodeCursor, encodeCursor } from '../src/conversations/conversation-list';
import { directConversationId } from '../src/conversations/conversation-store';
import { QueueRejection, createSerialQueue } from '../src/messages/send-queue';
import { createUserDirectory } from '../src/user-directory';

describe('config', () => {
  it('When nothing is set, then the documented defaults apply and JWKS_URL follows AUTH_URL', () => {
    const config = loadChatConfig({ AUTH_URL: 'http://auth:5001/' });
    expect(config).toMatchObject({
      PORT: 5002,
      EVENTS_EXCHANGE: 'chat.events',
      JWKS_URL: 'http://auth:5001/.well-known/jwks.json',
      OUTBOX_RELAY_INTERVAL_MS: 1000,
      SEND_MAX_PENDING: 1000,
      SEND_MAX_ACTIVE: 8,
      SEND_CONVERSATION_QUEUE_MAX: 300,
      SEND_MIN_TIME_LEFT_MS: 250,
    });
  });

  it('When nothing is set, then the per-user limits are the documented defaults', () => {
    const config = loadChatConfig({});
    expect(userLimitsOf(config)).toEqual(DEFAULT_USER_LIMITS);
    expect(config).toMatchObject({ RATE_LIMIT_SYNC_INTERVAL_MS: 250, ROOM_MAX_MEMBERS: 10_000 });
    expect(userLimitsOf(loadChatConfig({ INVITE_RATE_LIMIT: '5' })).invite).toEqual({
      points: 5,
      windowMs: 3_600_000,
    });
  });

  it('When a value is invalid, then loading fails naming the variable', () => {
    expect(() => loadChatConfig({ AMQP_URL: 'http://nope' })).toThrow(/AMQP_URL/);
  });
});

describe('directConversationId', () => {
  it('When two users are given in either order, then the id is the same', () => {
    expect(directConversationId('b1', 'a2')).toBe('d_a2_b1');
    expect(directConversationId('a2', 'b1')).toBe('d_a2_b1');
  });

  it('When ids could be ambiguous or long, then a hash keeps them apart and within 128 characters', () => {
    const one = directConversationId('x_y', 'z');
    const other = directConversationId('x', 'y_z');
    expect(one).not.toBe(other);
    expect(directConversationId('a'.repeat(128), 'b'.repeat(128)).length).toBeLessThanOrEqual(128);
  });
});

describe('conversations cursor', () => {
  it('When a cursor is encoded, then it decodes to the same position; garbage is a validation error', () => {
    const cursor = { lastMessageAt: new Date('2026-01-02T03:04:05.678Z'), id: 'd_a_b' };
    expect(decodeCursor(encodeCursor(cursor))).toEqual(cursor);
    for (const bad of [
      '',
      'x',
      Buffer.from('{"$gt":1}').toString('base64url'),
      Buffer.from('[1,{}]').toString('base64url'),
    ]) {
      expect(() => decodeCursor(bad)).toThrow(
        expect.objectContaining({ code: 'validation_failed' }),
      );
    }
  });
});

describe('send queue', () => {
  it('When tasks for one key overlap, then they run one at a time in order, and the key is dropped afterwards', async () => {
    const queue = createSerialQueue(() => ({ runs: 0 }));
    const order: number[] = [];
    let running = 0;
    const task = (n: number) => async (ctx: { runs: number }) => {
      running++;
      expect(running).toBe(1);
      await new Promise((resolve) => setImmediate(resolve));
      ctx.runs++;
      order.push(n);
      running--;
      if (n === 2) throw new Error('boom');
      return ctx.runs;
    };
    const results = await Promise.allSettled([1, 2, 3].map((n) => queue.run('k', task(n))));
    expect(order).toEqual([1, 2, 3]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(results[2]).toEqual({ status: 'fulfilled', value: 3 });
    await new Promise((resolve) => setImmediate(resolve));
    expect(queue.size).toBe(0);
  });

  // a task that holds the key until released
  function gate() {
    let open = () => undefined as void;
    const opened = new Promise<void>((resolve) => (open = resolve));
    return { open, task: () => opened };
  }

  it('When a key already holds maxPerKey tasks, then one more is refused at once and never runs', async () => {
    const queue = createSerialQueue(() => ({}), { maxPerKey: 2 });
    const held = gate();
    const ran: string[] = [];
    const first = queue.run('k', held.task);
    const second = queue.run('k', async () => void ran.push('second'));
    await expect(queue.run('k', async () => void ran.push('third'))).rejects.toEqual(
      new QueueRejection('key_full'),
    );
    // other keys are not affected
    await expect(queue.run('other', async () => 'ok')).resolves.toBe('ok');
    expect(queue.queued).toBe(2);
    held.open();
    await Promise.all([first, second]);
    expect(ran).toEqual(['second']);
    expect(queue.queued).toBe(0);
    expect(queue.size).toBe(0);
  });

  it('When a waiting task is aborted, then it leaves the queue at once and never runs; a running one is not touched', async () => {
    const queue = createSerialQueue(() => ({}));
    const held = gate();
    const ran: string[] = [];
    const abortRunning = new AbortController();
    const first = queue.run('k', held.task, { signal: abortRunning.signal });
    const waiting = new AbortController();
    const second = queue.run('k', async () => void ran.push('second'), {
      signal: waiting.signal,
    });
    const third = queue.run('k', async () => void ran.push('third'));
    expect(queue.queued).toBe(3);
    waiting.abort();
    abortRunning.abort();
    await expect(second).rejects.toEqual(new QueueRejection('aborted'));
    expect(queue.queued).toBe(2);
    held.open();
    await Promise.all([first, third]);
    expect(ran).toEqual(['third']);
    await expect(
      queue.run('k', async () => 'never', { signal: AbortSignal.abort() }),
    ).rejects.toEqual(new QueueRejection('aborted'));
    expect(queue.size).toBe(0);
  });

  it("When a task's startBy has passed by its turn, then it is dropped and the next one runs", async () => {
    let now = 1_000;
    const queue = createSerialQueue(() => ({}), { now: () => now });
    const held = gate();
    const ran: string[] = [];
    const first = queue.run('k', held.task);
    const late = queue.run('k', async () => void ran.push('late'), { startBy: 1_100 });
    const onTime = queue.run('k', async () => void ran.push('onTime'), { startBy: 5_000 });
    now = 1_200;
    held.open();
    await first;
    await expect(late).rejects.toEqual(new QueueRejection('late'));
    await onTime;
    expect(ran).toEqual(['onTime']);
    await expect(queue.run('k', async () => 'x', { startBy: 1_000 })).rejects.toEqual(
      new QueueRejection('late'),
    );
    expect(queue.size).toBe(0);
    expect(queue.queued).toBe(0);
  });

  it('When the recent pace says a task would only start after its startBy, then it is refused at once', async () => {
    let now = 0;
    const queue = createSerialQueue(() => ({}), { now: () => now });
    // one task that took 100 ms sets the pace
    await queue.run('k', async () => {
      now += 100;
    });
    await new Promise((resolve) => setImmediate(resolve));
    const held = gate();
    const running = queue.run('k', held.task);
    const second = queue.run('k', async () => 'second', { startBy: now + 1_000 });
    // two tasks ahead at ~100 ms each: a start by +150 ms cannot be met, +500 ms can
    await expect(queue.run('k', async () => 'x', { startBy: now + 150 })).rejects.toEqual(
      new QueueRejection('late'),
    );
    const third = queue.run('k', async () => 'third', { startBy: now + 500 });
    // finishBy counts the task's own ~100 ms too
    await expect(queue.run('k', async () => 'x', { finishBy: now + 350 })).rejects.toEqual(
      new QueueRejection('late'),
    );
    held.open();
    await running;
    expect(await Promise.all([second, third])).toEqual(['second', 'third']);
  });

  it('When the seq context is shared, then it lives while work is queued and is fresh afterwards', async () => {
    const queue = createSerialQueue(() => ({ n: 0 }));
    const held = gate();
    const first = queue.run('k', async (ctx) => {
      await held.task();
      return ++ctx.n;
    });
    const second = queue.run('k', async (ctx) => ++ctx.n);
    held.open();
    expect(await Promise.all([first, second])).toEqual([1, 2]);
    expect(await queue.run('k', async (ctx) => ++ctx.n)).toBe(1);
  });

  it('When concurrency is above 1, then that many tasks of a key run at once and the rest wait in order', async () => {
    const queue = createSerialQueue(() => ({}), { concurrency: 2 });
    const gates = [gate(), gate(), gate()];
    const started: number[] = [];
    const runs = gates.map((g, i) =>
      queue.run('k', async () => {
        started.push(i);
        await g.task();
      }),
    );
    expect(started).toEqual([0, 1]);
    gates[1]!.open();
    await runs[1];
    await new Promise((resolve) => setImmediate(resolve));
    expect(started).toEqual([0, 1, 2]);
    gates[0]!.open();
    gates[2]!.open();
    await Promise.all(runs);
    expect(queue.size).toBe(0);
  });

  it('When a task throws synchronously, then its run rejects and the key moves on', async () => {
    const queue = createSerialQueue(() => ({}));
    const boom = (() => {
      throw new Error('sync boom');
    }) as unknown as () => Promise<void>;
    await expect(queue.run('k', boom)).rejects.toThrow('sync boom');
    await expect(queue.run('k', async () => 'after')).resolves.toBe('after');
    expect(queue.size).toBe(0);
  });

  it('When batched tasks of one kind wait together, then one call runs them and each settles on its own', async () => {
    const queue = createSerialQueue(() => ({}), { maxBatch: 3 });
    const calls: number[][] = [];
    const batch = (item: number) => ({
      kind: 'send',
      item,
      run: async (_ctx: object, items: number[]) => {
        calls.push(items);
        return items.map((n) =>
          n === 3
            ? { ok: false as const, error: new Error('three') }
            : { ok: true as const, value: n * 10 },
        );
      },
    });
    const held = gate();
    const blocker = queue.run('k', () => held.task());
    const runs = [1, 2, 3, 4].map((n) => queue.runBatched('k', batch(n)));
    const other = queue.run('k', async () => 'plain');
    held.open();
    await blocker;
    const settled = await Promise.allSettled([...runs, other]);
    expect(calls).toEqual([[1, 2, 3], [4]]); // at most maxBatch, in order, the plain task apart
    expect(
      settled.map((r) => (r.status === 'fulfilled' ? r.value : (r.reason as Error).message)),
    ).toEqual([10, 20, 'three', 40, 'plain']);
    expect(queue.queued).toBe(0);
    expect(queue.size).toBe(0);
  });
});

describe('user directory', () => {
  it('When the same name is asked repeatedly, then auth is asked once; unknown names are undefined', async () => {
    let requests = 0;
    const server = createServer((req, res) => {
      requests++;
      if (req.url === '/users/bob') {
        res.writeHead(200, { 'content-type': 'application/json' }).end(
          JSON.stringify({
            user: {
              id: 'u1',
              username: 'bob',
              displayName: 'Bob',
              createdAt: new Date().toISOString(),
            },
          }),
        );
      } else res.writeHead(404, { 'content-type': 'application/json' }).end('{}');
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { port } = server.address() as AddressInfo;
    try {
      const users = createUserDirectory({
        authUrl: `http://127.0.0.1:${port}`,
        notFoundTtlMs: 60_000,
      });
      const found = await Promise.all([1, 2, 3].map(() => users.findByUsername('bob', 't')));
      await users.findByUsername('BOB', 't');
      expect(found.map((u) => u?.id)).toEqual(['u1', 'u1', 'u1']);
      expect(await users.findByUsername('ghost', 't')).toBeUndefined();
      await expect(users.requireByUsername('ghost', 't')).rejects.toMatchObject({
        code: 'user_not_found',
      });
      expect(requests).toBe(2);
    } finally {
      server.close();
    }
  });

  it('When auth cannot be reached, then the lookup is dependency_unavailable', async () => {
    const users = createUserDirectory({ authUrl: 'http://127.0.0.1:1', timeoutMs: 200 });
    await expect(users.findByUsername('bob', 't')).rejects.toMatchObject({
      code: 'dependency_unavailable',
    });
  });
});

describe('coalesced writes', () => {
  function deferred() {
    let resolve!: () => void;
    let reject!: (err: unknown) => void;
    const promise = new Promise<void>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    return { promise, resolve, reject };
  }

  it('When values for one key arrive while its write runs, then the next write carries them merged and all resolve after it', async () => {
    const writes: { key: string; value: number; done: ReturnType<typeof deferred> }[] = [];
    const coalesced = createCoalescedWrites<number>(
      (key, value) => {
        const done = deferred();
        writes.push({ key, value, done });
        return done.promise;
      },
      (a, b) => Math.max(a, b),
    );
    const settled: number[] = [];
    const first = coalesced.write('c1', 1).then(() => settled.push(1));
    const others = [5, 3, 4].map((v) => coalesced.write('c1', v).then(() => settled.push(v)));
    const elsewhere = coalesced.write('c2', 9);

    expect(writes.map((w) => [w.key, w.value])).toEqual([
      ['c1', 1],
      ['c2', 9],
    ]);
    writes[0]!.done.resolve();
    await first;
    expect(settled).toEqual([1]);
    await new Promise((r) => setImmediate(r));
    expect(writes.map((w) => [w.key, w.value])).toEqual([
      ['c1', 1],
      ['c2', 9],
      ['c1', 5],
    ]);
    writes[2]!.done.resolve();
    writes[1]!.done.resolve();
    await Promise.all([...others, elsewhere]);
    expect(settled.sort()).toEqual([1, 3, 4, 5]);
    expect(writes).toHaveLength(3);
  });

  it('When pauseMs is set, then a key still busy after a write waits that long before the next, and an idle key is written at once', async () => {
    const startedAt: number[] = [];
    const coalesced = createCoalescedWrites<number>(
      async () => {
        startedAt.push(Date.now());
        await new Promise((r) => setTimeout(r, 5));
      },
      (a, b) => Math.max(a, b),
      { pauseMs: 60 },
    );
    const t0 = Date.now();
    const first = coalesced.write('k', 1);
    await new Promise((r) => setTimeout(r, 1));
    const burst = [2, 3, 4].map((v) => coalesced.write('k', v));
    await Promise.all([first, ...burst]);
    const idleStart = Date.now();
    await coalesced.write('k', 5);

    expect(startedAt).toHaveLength(3);
    expect(startedAt[0]! - t0).toBeLessThan(30);
    expect(startedAt[1]! - startedAt[0]!).toBeGreaterThanOrEqual(60);
    expect(startedAt[2]! - idleStart).toBeLessThan(30);
  });

  it('When a shared write fails, then every caller it covered rejects and the key recovers', async () => {
    let fail = true;
    const stored: number[] = [];
    const coalesced = createCoalescedWrites<number>(
      async (_key, value) => {
        await new Promise((r) => setImmediate(r));
        if (fail) throw new Error('down');
        stored.push(value);
      },
      (a, b) => Math.max(a, b),
    );
    const running = coalesced.write('k', 1);
    const queued = [coalesced.write('k', 2), coalesced.write('k', 3)];
    fail = true;
    await expect(running).rejects.toThrow('down');
    fail = false;
    await expect(Promise.all(queued)).resolves.toBeDefined();
    expect(stored).toEqual([3]);
    await coalesced.write('k', 7);
    expect(stored).toEqual([3, 7]);
  });
});
