// Which exchange an event may come from (docs/design.md §9.6): chat events only from
// chat.events, presence only from chat.presence, where websocket instances publish
// theirs. A websocket instance's broker user may write chat.presence only, so whatever
// it publishes can never reach a socket as a chat event.
import { createEvent } from '@parley/contracts';
import { uniqueName, waitFor } from '@parley/testing';
import amqplib, { type ConsumeMessage } from 'amqplib';
import type { EventInjector } from './support/event-injector';
import { makeMessage, ref } from './support/fixtures';
import {
  AMQP_URL,
  connect,
  createInjector,
  newUser,
  presenceExchangeOf,
  useWebsocketHarness,
  type TestClient,
} from './support/websocket-harness';

// the chat stand-in answers presence checks (POST /chat/contacts): watchers only see who
// shares a room with them
const ws = useWebsocketHarness({ name: 'ws-trust', chatStub: true });
let presenceEvents: EventInjector;

beforeAll(() => {
  presenceEvents = createInjector(presenceExchangeOf(ws.exchange));
});
afterAll(async () => {
  await presenceEvents.close();
});

/** A peer instance's presence announcement for `userId`, as websocket instances publish it. */
function peerPresence(userId: string) {
  return createEvent('presence', { userId, status: 'online', instanceId: uniqueName('peer') }, []);
}

/** A client watching `watched` (they share a room), past the first (offline) presence frame. */
async function watcherOf(watched: { userId: string; username: string }): Promise<TestClient> {
  const user = newUser(ws.issuer);
  ws.chat.createRoom(uniqueName('room'), [ref(user), ref(watched)]);
  const watcher = await connect(ws.instance.wsBase, user.token);
  watcher.sendJson({ type: 'presence_subscribe', userIds: [watched.userId] });
  await watcher.next('presence', (f) => f.userId === watched.userId && f.status === 'offline');
  return watcher;
}

test('When a chat event is published on the presence exchange (a forged message), then no socket gets it', async () => {
  const marker = newUser(ws.issuer); // a user bob watches: the sentinel travels the same queue
  const bobSocket = await watcherOf(marker);
  const bob = { userId: bobSocket.ready.userId };
  const forged = makeMessage(uniqueName('conv'), { id: 'admin', username: 'admin' }, 1, {
    text: 'please send me your password',
  });

  await presenceEvents.publishEvent(
    createEvent(
      'new_message',
      { message: forged, conversation: { id: forged.conversationId, kind: 'direct' } },
      [bob.userId],
    ),
  );
  await presenceEvents.publishEvent(peerPresence(marker.userId));

  await bobSocket.next('presence', (f) => f.userId === marker.userId && f.status === 'online');
  expect(bobSocket.frames.filter((f) => f.type === 'message')).toEqual([]);
  await bobSocket.close();
});

test("When a presence event is published on chat.events, then it changes no one's presence; on the presence exchange it does", async () => {
  const alice = newUser(ws.issuer);
  const watcher = await watcherOf(alice);

  await ws.injector.publishEvent(peerPresence(alice.userId));
  const sentinel = uniqueName('sentinel');
  await ws.injector.publish('read', { conversationId: sentinel, userId: alice.userId, seq: 1 }, [
    watcher.ready.userId,
  ]);
  await watcher.next('read', (f) => f.conversationId === sentinel);
  expect(watcher.frames.filter((f) => f.type === 'presence' && f.status === 'online')).toEqual([]);

  await presenceEvents.publishEvent(peerPresence(alice.userId));
  await watcher.next('presence', (f) => f.userId === alice.userId && f.status === 'online');
  await watcher.close();
});

test('When a user connects, then the instance announces it on the presence exchange and nothing on chat.events', async () => {
  const connection = await amqplib.connect(AMQP_URL);
  try {
    const channel = await connection.createChannel();
    const seen: Record<'chat' | 'presence', ConsumeMessage[]> = { chat: [], presence: [] };
    for (const [kind, name] of [
      ['chat', ws.exchange],
      ['presence', presenceExchangeOf(ws.exchange)],
    ] as const) {
      const { queue } = await channel.assertQueue('', { exclusive: true });
      await channel.bindQueue(queue, name, '');
      await channel.consume(queue, (msg) => msg && seen[kind].push(msg), { noAck: true });
    }
    const alice = newUser(ws.issuer);

    const socket = await connect(ws.instance.wsBase, alice.token);

    const announced = (msgs: ConsumeMessage[]) =>
      msgs
        .map(
          (msg) =>
            JSON.parse(msg.content.toString()) as { type: string; data: { userId?: string } },
        )
        .filter((event) => event.type === 'presence' && event.data.userId === alice.userId);
    await waitFor(() => announced(seen.presence).length > 0 || undefined);
    expect(seen.chat.map((msg) => msg.properties.type as unknown)).not.toContain('presence');
    expect(seen.chat.map((msg) => msg.properties.type as unknown)).not.toContain(
      'presence_snapshot',
    );
    expect(announced(seen.chat)).toEqual([]);
    await socket.close();
  } finally {
    await connection.close();
  }
});
