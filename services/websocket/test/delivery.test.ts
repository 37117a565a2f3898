// Event delivery (docs/design.md §5/§6): each event type reaches every socket of every
// recipient connected here, and no one else; redeliveries and unknown events are
// dropped. Events are injected on the real exchange as chat would publish them.
import { createEvent, type ParleyEvent, type ServerFrame } from '@parley/contracts';
import { uniqueName, waitFor } from '@parley/testing';
import amqplib from 'amqplib';
import request from 'supertest';
import { makeConversation, makeMessage, ref } from './support/fixtures';
import {
  AMQP_URL,
  connect,
  newUser,
  useWebsocketHarness,
  type TestClient,
} from './support/websocket-harness';

const ws = useWebsocketHarness({ name: 'ws-delivery' });

/** Proves a client got nothing before a sentinel addressed to it (one queue keeps order). */
async function expectNothingBeforeSentinel(client: TestClient): Promise<void> {
  const sentinel = await ws.injector.publish(
    'read',
    { conversationId: 'sentinel', userId: client.ready.userId, seq: 1 },
    [client.ready.userId],
  );
  await client.next('read', (f) => f.conversationId === 'sentinel');
  const afterReady = client.frames.slice(1);
  expect(afterReady).toEqual([
    { type: 'read', conversationId: 'sentinel', userId: client.ready.userId, seq: 1 },
  ]);
  expect(sentinel.id).toBeDefined();
}

async function setup() {
  const alice = newUser(ws.issuer);
  const bob = newUser(ws.issuer);
  const carol = newUser(ws.issuer);
  const clients = {
    alicePhone: await connect(ws.instance.wsBase, alice.token),
    aliceLaptop: await connect(ws.instance.wsBase, alice.token),
    bob: await connect(ws.instance.wsBase, bob.token),
    carol: await connect(ws.instance.wsBase, carol.token),
  };
  return { alice, bob, carol, clients };
}

async function teardown(clients: Record<string, TestClient>): Promise<void> {
  await Promise.all(Object.values(clients).map((c) => c.close()));
}

describe('event delivery', () => {
  test('When each event type is published for alice and bob, then all their sockets get the frame and carol gets nothing', async () => {
    const { alice, bob, carol, clients } = await setup();
    const convRef = { id: uniqueName('conv'), kind: 'room' as const, name: 'general' };
    const members = [ref(alice), ref(bob)];
    const recipients = [alice.userId, bob.userId];
    const message = makeMessage(convRef.id, ref(bob), 1);

    const expected: ServerFrame[] = [
      { type: 'message', message, conversation: convRef },
      {
        type: 'message_updated',
        message: {
          id: message.id,
          conversationId: message.conversationId,
          seq: message.seq,
          text: 'edited',
          editedAt: new Date().toISOString(),
        },
      },
      {
        type: 'reaction',
        messageId: message.id,
        conversationId: convRef.id,
        emoji: '👍',
        userId: bob.userId,
        added: true,
      },
      { type: 'typing', conversationId: convRef.id, user: ref(bob), isTyping: true },
      { type: 'read', conversationId: convRef.id, userId: bob.userId, seq: 1 },
      {
        type: 'conversation_updated',
        conversation: makeConversation(convRef, members),
        memberChange: { added: [{ ...ref(bob), role: 'member' }] },
      },
    ];
    await ws.injector.publish('new_message', { message, conversation: convRef }, recipients);
    const updated = expected[1] as Extract<ServerFrame, { type: 'message_updated' }>;
    await ws.injector.publish('message_updated', { message: updated.message }, recipients);
    const { type: _reaction, ...change } = expected[2] as Extract<
      ServerFrame,
      { type: 'reaction' }
    >;
    await ws.injector.publish('reaction', change, recipients);
    await ws.injector.publish(
      'typing',
      { conversationId: convRef.id, user: ref(bob), isTyping: true },
      recipients,
    );
    await ws.injector.publish(
      'read',
      { conversationId: convRef.id, userId: bob.userId, seq: 1 },
      recipients,
    );
    const conv = expected[5] as Extract<ServerFrame, { type: 'conversation_updated' }>;
    await ws.injector.publish(
      'conversation_updated',
      { conversation: conv.conversation, memberChange: conv.memberChange },
      recipients,
    );

    for (const client of [clients.alicePhone, clients.aliceLaptop, clients.bob]) {
      await waitFor(() => client.frames.length >= 1 + expected.length, {
        description: 'five frames',
      });
      expect(client.frames.slice(1)).toEqual(expected);
      expect(client.invalidFrames).toEqual([]);
    }
    await expectNothingBeforeSentinel(clients.carol);
    expect(carol.userId).toBeDefined();
    await teardown(clients);
  });

  test('When the same event is delivered twice, then each socket gets its frame once', async () => {
    const { alice, clients } = await setup();
    const message = makeMessage(uniqueName('conv'), ref(alice), 1);
    const event = createEvent(
      'new_message',
      { message, conversation: { id: message.conversationId, kind: 'direct' } },
      [alice.userId],
    ) as ParleyEvent;
    await ws.injector.publishEvent(event);
    await ws.injector.publishEvent(event);
    await clients.alicePhone.next('message');
    await expectNothingBeforeSentinelAfter(clients.alicePhone, 2);
    await teardown(clients);
  });

  test('When an event of an unknown type or version arrives, then it is ignored and later events still flow', async () => {
    const { alice, clients } = await setup();
    const unknownType = {
      ...createEvent('read', { conversationId: 'c', userId: alice.userId, seq: 1 }, [alice.userId]),
      type: 'future_thing',
    };
    const unknownVersion = {
      ...createEvent('read', { conversationId: 'c', userId: alice.userId, seq: 1 }, [alice.userId]),
      version: 2,
    };
    await ws.injector.publishRaw(unknownType);
    await ws.injector.publishRaw(unknownVersion);
    await expectNothingBeforeSentinel(clients.alicePhone);
    const metrics = await request(ws.instance.metricsUrl).get('/metrics');
    expect(metrics.text).toMatch(/ws_events_consumed_total\{[^}]*type="other"[^}]*\} [1-9]/);
    expect(metrics.text).toMatch(/ws_delivery_latency_seconds_count\{[^}]*\} [1-9]/);
    await teardown(clients);
  });

  test('When an event of a known type has data that breaks its schema, then it is dead-lettered and later events still flow', async () => {
    const { alice, clients } = await setup();
    const poison = {
      ...createEvent('read', { conversationId: 'c', userId: alice.userId, seq: 1 }, [alice.userId]),
      data: { seq: 'x' },
    };
    await ws.injector.publishRaw(poison);
    await expectNothingBeforeSentinel(clients.alicePhone);
    await waitFor(
      async () => {
        const connection = await amqplib.connect(AMQP_URL);
        try {
          const channel = await connection.createChannel();
          const { messageCount } = await channel.checkQueue(`${ws.exchange}.dead-letter`);
          return messageCount >= 1;
        } finally {
          await connection.close();
        }
      },
      { description: 'the poison event in the dead-letter queue' },
    );
    await teardown(clients);
  });

  test('When many events are handled, then each reaches the socket once and they are acked in batches (at most one ack per 5 events)', async () => {
    const { alice, clients } = await setup();
    const before = await counters();
    const conversationId = uniqueName('acks');
    for (let seq = 1; seq <= 50; seq += 1)
      await ws.injector.publish('read', { conversationId, userId: alice.userId, seq }, [
        alice.userId,
      ]);
    await waitFor(
      () =>
        clients.alicePhone.frames.filter(
          (f) => f.type === 'read' && f.conversationId === conversationId,
        ).length === 50,
      { description: 'the 50 read frames' },
    );
    // every event handled is acked (within the ack window), and by few frames
    let after = before;
    await waitFor(
      async () => {
        after = await counters();
        return after.acked - before.acked >= 50;
      },
      { description: 'the 50 events acked' },
    );
    expect(after.ackFrames - before.ackFrames).toBeGreaterThanOrEqual(1);
    expect(after.ackFrames - before.ackFrames).toBeLessThanOrEqual(10);
    const reads = clients.alicePhone.frames.filter(
      (f) => f.type === 'read' && f.conversationId === conversationId,
    );
    expect(reads.map((f) => (f.type === 'read' ? f.seq : 0))).toEqual(
      Array.from({ length: 50 }, (_, i) => i + 1),
    );
    await teardown(clients);
  });

  test('When an event names no one connected here, then its data is never read: even a malformed one is dropped, not dead-lettered', async () => {
    const { clients } = await setup();
    const stranger = newUser(ws.issuer);
    const deadLettered = await deadLetterCount();
    const malformed = {
      ...createEvent('read', { conversationId: 'c', userId: stranger.userId, seq: 1 }, [
        stranger.userId,
      ]),
      data: { seq: 'x' },
    };
    await ws.injector.publishRaw(malformed);
    // one queue keeps order: once the sentinel is here, the stranger's event was handled
    await expectNothingBeforeSentinel(clients.alicePhone);
    expect(await deadLetterCount()).toBe(deadLettered);
    await teardown(clients);
  });

  test('When a new message comes from a REST send, then every socket of the sender gets it too', async () => {
    const { alice, bob, clients } = await setup();
    const message = makeMessage(uniqueName('conv'), ref(alice), 1, {
      clientMsgId: uniqueName('rest'),
    });
    await ws.injector.publish(
      'new_message',
      { message, conversation: { id: message.conversationId, kind: 'direct' } },
      [alice.userId, bob.userId],
    );
    for (const client of [clients.alicePhone, clients.aliceLaptop, clients.bob]) {
      expect((await client.next('message')).message.id).toBe(message.id);
    }
    await teardown(clients);
  });
});

/** The instance's ack counters: ack frames sent, events they covered. */
async function counters(): Promise<{ ackFrames: number; acked: number }> {
  const value = async (name: string) =>
    (await ws.instance.app.metrics.registry.getSingleMetric(name)?.get())?.values.reduce(
      (sum, v) => sum + v.value,
      0,
    ) ?? 0;
  return {
    ackFrames: await value('parley_amqp_acks_total'),
    acked: await value('ws_events_acked_total'),
  };
}

async function deadLetterCount(): Promise<number> {
  const connection = await amqplib.connect(AMQP_URL);
  try {
    const channel = await connection.createChannel();
    return (await channel.checkQueue(`${ws.exchange}.dead-letter`)).messageCount;
  } finally {
    await connection.close();
  }
}

/** Like expectNothingBeforeSentinel, for a client that already holds `count` frames. */
async function expectNothingBeforeSentinelAfter(client: TestClient, count: number): Promise<void> {
  await ws.injector.publish(
    'read',
    { conversationId: 'sentinel', userId: client.ready.userId, seq: 1 },
    [client.ready.userId],
  );
  await client.next('read', (f) => f.conversationId === 'sentinel');
  expect(client.frames).toHaveLength(count + 1);
}
