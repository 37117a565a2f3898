// Pure pieces without infrastructure: config defaults, direct conversation ids, the
// conversations cursor, the per-conversation send queue and the user directory cache.
import { createServer } from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { loadChatConfig } from '../src/config';
import { decodeCursor, encodeCursor } from '../src/conversation-list';
import { directConversationId } from '../src/conversation-store';
import { createSerialQueue } from '../src/send-queue';
import { createUserDirectory } from '../src/user-directory';

describe('config', () => {
  it('When nothing is set, then the documented defaults apply and JWKS_URL follows AUTH_URL', () => {
    const config = loadChatConfig({ AUTH_URL: 'http://auth:5001/' });
    expect(config).toMatchObject({
      PORT: 5002,
      EVENTS_EXCHANGE: 'chat.events',
      JWKS_URL: 'http://auth:5001/.well-known/jwks.json',
      OUTBOX_RELAY_INTERVAL_MS: 1000,
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
