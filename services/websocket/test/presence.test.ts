// Presence across instances (docs/design.md §6, §7.4): two (or three) websocket instances on
// one exchange, each with its own queue; short heartbeats so a silent peer is
// noticed quickly.
import { WS_CLOSE } from '@parley/contracts';
import { waitFor } from '@parley/testing';
import amqplib, { type ConsumeMessage } from 'amqplib';
import request from 'supertest';
import { ref } from './support/fixtures';
import {
  AMQP_URL,
  connect,
  newUser,
  presenceExchangeOf,
  useWebsocketHarness,
  type Instance,
} from './support/websocket-harness';

const HEARTBEAT_MS = 200;
const TIMEOUT_MS = 600;
const OFFLINE_GRACE_MS = 300;
// the chat stand-in answers the instances' presence checks (POST /chat/contacts): who
// shares a conversation
const ws = useWebsocketHarness({ name: 'ws-presence', instance: false, chatStub: true });

function start(exchange: string): Promise<Instance> {
  return ws.startInstance({
    exchange,
    chatUrl: ws.chat.url,
    env: {
      PRESENCE_HEARTBEAT_MS: String(HEARTBEAT_MS),
      PRESENCE_TIMEOUT_MS: String(TIMEOUT_MS),
      PRESENCE_OFFLINE_GRACE_MS: String(OFFLINE_GRACE_MS),
    },
  });
}

async function restPresence(instance: Instance, token: string, userId: string): Promise<string> {
  const res = await request(instance.httpUrl)
    .get(`/presence?userIds=${userId}`)
    .set('authorization', `Bearer ${token}`)
    .expect(200);
  return (res.body as { presence: [{ status: string }] }).presence[0].status;
}

test('When a user is on instance A and A crashes without a word, then a watcher on B sees online, then offline within the timeout', async () => {
  const exchange = ws.newExchange('ws-presence');
  const a = await start(exchange);
  const b = await start(exchange);
  try {
    const alice = newUser(ws.issuer);
    const bob = newUser(ws.issuer);
    ws.chat.createRoom('friends', [ref(alice), ref(bob)]);
    const watcher = await connect(b.wsBase, bob.token);
    watcher.sendJson({ type: 'presence_subscribe', userIds: [alice.userId] });
    expect(await watcher.next('presence')).toEqual({
      type: 'presence',
      userId: alice.userId,
      status: 'offline',
    });

    await connect(a.wsBase, alice.token);
    expect(await watcher.next('presence')).toEqual({
      type: 'presence',
      userId: alice.userId,
      status: 'online',
    });
    expect(await restPresence(b, bob.token, alice.userId)).toBe('online');

    // A "crashes": its link to RabbitMQ dies (no more heartbeats, no offline events),
    // while alice's socket on A is still open.
    await a.amqp.close();
    const crashedAt = Date.now();
    expect(await watcher.next('presence', undefined, 5_000)).toEqual({
      type: 'presence',
      userId: alice.userId,
      status: 'offline',
    });
    expect(Date.now() - crashedAt).toBeLessThan(
      TIMEOUT_MS + 2 * HEARTBEAT_MS + OFFLINE_GRACE_MS + 500,
    );
    expect(a.app.registry.countForUser(alice.userId)).toBe(1);
    expect(await restPresence(b, bob.token, alice.userId)).toBe('offline');
    await watcher.close();
  } finally {
    await Promise.all([a.stop(), b.stop()]);
  }
});

test('When a user is on two instances and one crashes, then the user stays online', async () => {
  const exchange = ws.newExchange('ws-presence-both');
  const a = await start(exchange);
  const b = await start(exchange);
  const c = await start(exchange);
  try {
    const alice = newUser(ws.issuer);
    const bob = newUser(ws.issuer);
    ws.chat.createRoom('friends', [ref(alice), ref(bob)]);
    const watcher = await connect(c.wsBase, bob.token);
    await connect(a.wsBase, alice.token);
    await connect(b.wsBase, alice.token);
    await waitFor(
      () =>
        c.app.presence.peers().includes(a.app.instanceId) &&
        c.app.presence.peers().includes(b.app.instanceId),
    );
    watcher.sendJson({ type: 'presence_subscribe', userIds: [alice.userId] });
    expect(await watcher.next('presence')).toEqual({
      type: 'presence',
      userId: alice.userId,
      status: 'online',
    });

    await a.amqp.close();
    await waitFor(() => !c.app.presence.peers().includes(a.app.instanceId), {
      description: 'A to be dropped',
    });
    expect(c.app.presence.status(alice.userId)).toBe('online');
    expect(watcher.frames.filter((f) => f.type === 'presence')).toHaveLength(1);
    await watcher.close();
  } finally {
    await Promise.all([a.stop(), b.stop(), c.stop()]);
  }
});

test('When an instance starts after users connected elsewhere, then it learns them from the snapshot its first digest asks for', async () => {
  const exchange = ws.newExchange('ws-presence-late');
  const a = await start(exchange);
  try {
    const alice = newUser(ws.issuer);
    await connect(a.wsBase, alice.token);
    const late = await start(exchange);
    try {
      await waitFor(
        async () => (await restPresence(late, alice.token, alice.userId)) === 'online',
        {
          timeoutMs: 3_000,
          description: 'the late instance to see alice online',
        },
      );
    } finally {
      await late.stop();
    }
  } finally {
    await a.stop();
  }
});

test('When an instance shuts down gracefully, then its sockets close with 1001 and watchers elsewhere see offline at once', async () => {
  const exchange = ws.newExchange('ws-presence-shutdown');
  const a = await ws.startInstance({ exchange, chatUrl: ws.chat.url });
  const b = await ws.startInstance({ exchange, chatUrl: ws.chat.url });
  try {
    const alice = newUser(ws.issuer);
    const bob = newUser(ws.issuer);
    ws.chat.createRoom('friends', [ref(alice), ref(bob)]);
    const watcher = await connect(b.wsBase, bob.token);
    const client = await connect(a.wsBase, alice.token);
    watcher.sendJson({ type: 'presence_subscribe', userIds: [alice.userId] });
    await watcher.next('presence', (f) => f.status === 'online');

    const stopping = a.stop();
    expect((await client.closed).code).toBe(WS_CLOSE.goingAway);
    // default timeouts (15 s): this offline can only come from A's announcement
    expect(await watcher.next('presence', undefined, 3_000)).toMatchObject({ status: 'offline' });
    await stopping;
    await watcher.close();
  } finally {
    await Promise.all([a.stop(), b.stop()]);
  }
});

test('When users stay connected and nothing changes, then the presence exchange carries only one small digest per instance per heartbeat (docs/design.md §14)', async () => {
  const exchange = ws.newExchange('ws-presence-quiet');
  const a = await start(exchange);
  const b = await start(exchange);
  const connection = await amqplib.connect(AMQP_URL);
  try {
    for (let i = 0; i < 20; i += 1)
      await connect(i % 2 === 0 ? a.wsBase : b.wsBase, newUser(ws.issuer).token);
    const channel = await connection.createChannel();
    const { queue } = await channel.assertQueue('', { exclusive: true });
    await channel.bindQueue(queue, presenceExchangeOf(exchange), '');
    const seen: ConsumeMessage[] = [];
    await channel.consume(queue, (msg) => msg && seen.push(msg), { noAck: true });

    // five heartbeats with nobody coming or going; per instance, what follows its first
    // digest (a connect's delta may still have been on its way when the spy was bound)
    const parsed = () =>
      seen.map((msg) => ({
        type: msg.properties.type as unknown,
        size: msg.content.length,
        data: (
          JSON.parse(msg.content.toString()) as { data: { instanceId: string; count?: number } }
        ).data,
      }));
    const afterFirstDigest = () =>
      [a.app.instanceId, b.app.instanceId].flatMap((id) => {
        const mine = parsed().filter((m) => m.data.instanceId === id);
        const first = mine.findIndex((m) => m.type === 'presence_digest');
        return first === -1 ? [] : mine.slice(first);
      });
    const quiet = await waitFor(
      () => {
        const list = afterFirstDigest();
        return list.length >= 10 ? list : undefined;
      },
      { timeoutMs: 5_000, description: '10 presence messages after each first digest' },
    );
    expect([...new Set(quiet.map((m) => m.type))]).toEqual(['presence_digest']);
    expect(Math.max(...quiet.map((m) => m.size))).toBeLessThan(400);
    expect(new Set(quiet.map((m) => m.data.count))).toEqual(new Set([10]));
  } finally {
    await connection.close();
    await Promise.all([a.stop(), b.stop()]);
  }
});
