// Write coalescing (socket-gateway.ts): the frames one socket gets in one turn of the
// event loop leave in one socket write, in order, before the turn ends, and the send
// buffer bounds judge only what the kernel refused. Real instance, real `ws` clients;
// writes are counted on the server side's net.Socket (each _write/_writev call is one
// write to the kernel).
import { createMetrics } from '@parley/server-kit';
import { createSilentLogger, uniqueName, waitFor } from '@parley/testing';
import type { Socket } from 'node:net';
import { createWebsocketMetrics } from '../src/metrics';
import { createSocketGateway, type SocketGateway } from '../src/socket-gateway';
import type { SocketSession } from '../src/socket-session';
import { makeMessage } from './support/fixtures';
import {
  connect,
  newUser,
  useWebsocketHarness,
  type TestClient,
} from './support/websocket-harness';

const ws = useWebsocketHarness({ name: 'ws-gateway' });

function netSocket(webSocket: unknown): Socket {
  return (webSocket as { _socket: Socket })._socket;
}

function sessionOf(client: TestClient): SocketSession {
  const session = ws.instance.app.registry.get(client.ready.connectionId);
  if (!session) throw new Error('no session for the client');
  return session;
}

/** Counts the writes the server side of a client's connection hands the kernel from now on. */
function countWrites(client: TestClient): { readonly count: number; socket: Socket } {
  const socket = netSocket(sessionOf(client).ws);
  const counter = { count: 0, socket };
  const { _write: write, _writev: writev } = socket;
  socket._write = function (...args: Parameters<Socket['_write']>) {
    counter.count += 1;
    return write.apply(this, args);
  };
  if (writev)
    socket._writev = function (...args: Parameters<NonNullable<Socket['_writev']>>) {
      counter.count += 1;
      return writev.apply(this, args);
    };
  return counter;
}

/** A gateway of its own over the instance's sockets, with the bounds a test needs. */
function gateway(limits: { soft: number; hard: number }): SocketGateway {
  return createSocketGateway({
    registry: ws.instance.app.registry,
    metrics: createWebsocketMetrics(createMetrics({ service: 'websocket' })),
    logger: createSilentLogger(),
    softLimitBytes: limits.soft,
    hardLimitBytes: limits.hard,
    closeGraceMs: 1_000,
    now: Date.now,
  });
}

function seqsOf(client: TestClient, conversationId: string): number[] {
  return client.frames.flatMap((f) =>
    f.type === 'read' && f.conversationId === conversationId ? [f.seq] : [],
  );
}

test('When several events reach the same sockets in one turn, then each socket gets them in one write, in order, within that turn', async () => {
  const alice = newUser(ws.issuer);
  const bob = newUser(ws.issuer);
  const clients = [
    await connect(ws.instance.wsBase, alice.token),
    await connect(ws.instance.wsBase, alice.token),
    await connect(ws.instance.wsBase, bob.token),
  ];
  const writes = clients.map(countWrites);
  const push = gateway({ soft: 256 * 1024, hard: 1024 * 1024 });
  const conversationId = uniqueName('conv');
  // scheduled before the events: it runs first thing in the next turn, so a flush left to
  // a later turn (setImmediate, a timer) would not have happened yet
  const nextTurn = new Promise<void>((resolve) => setImmediate(resolve));
  // as the ordered AMQP consumer hands over the events of one read: each handled in the
  // promise chain after the one before (queueMicrotask would flush after the first)
  let chain = Promise.resolve();
  for (let seq = 1; seq <= 8; seq += 1)
    chain = chain.then(async () => {
      const sent = push.sendToUsers([alice.userId, bob.userId], {
        type: 'read',
        conversationId,
        userId: alice.userId,
        seq,
      });
      expect(sent).toBe(3);
    });
  await nextTurn;
  await chain;

  expect(writes.map((w) => w.count)).toEqual([1, 1, 1]);
  expect(writes.map((w) => w.socket.writableCorked)).toEqual([0, 0, 0]);
  for (const client of clients)
    await waitFor(() => seqsOf(client, conversationId).length >= 8, {
      description: 'the 8 read frames',
    });
  const expected = [1, 2, 3, 4, 5, 6, 7, 8];
  expect(clients.map((c) => seqsOf(c, conversationId))).toEqual([expected, expected, expected]);
  expect(clients.flatMap((c) => c.invalidFrames)).toEqual([]);

  // the next turn's frame is a write of its own, not held back
  push.sendToUsers([bob.userId], { type: 'read', conversationId, userId: alice.userId, seq: 9 });
  await waitFor(() => seqsOf(clients[2] as TestClient, conversationId).length === 9, {
    description: 'the 9th read frame',
  });
  expect(writes[2]?.count).toBe(2);
  await Promise.all(clients.map((c) => c.close()));
});

test('When a client sends several frames in one write, then the server answers them in one write', async () => {
  const client = await connect(ws.instance.wsBase, newUser(ws.issuer).token);
  // the server offered nothing the client asked for: ws clients offer permessage-deflate,
  // and with it frames would be compressed and written later, past the coalescing
  expect(client.ws.extensions).toBe('');
  const writes = countWrites(client);
  const clientSocket = netSocket(client.ws);
  clientSocket.cork();
  for (let i = 0; i < 6; i += 1) client.sendJson({ type: 'ping' });
  clientSocket.uncork();
  await waitFor(() => client.frames.filter((f) => f.type === 'pong').length === 6, {
    description: 'six pongs',
  });
  expect(writes.count).toBe(1);
  await client.close();
});

test('When one turn writes more than the soft bound to a client that reads, then nothing is dropped and it is kept', async () => {
  const reader = newUser(ws.issuer);
  const client = await connect(ws.instance.wsBase, reader.token);
  const session = sessionOf(client);
  // 40 frames of about 1 KiB, every other one droppable: 40 KiB in one turn, where the
  // corked bytes alone would pass the soft bound (8 KiB) and the hard bound (24 KiB)
  const push = gateway({ soft: 8 * 1024, hard: 24 * 1024 });
  const conversationId = uniqueName('conv');
  const sender = { id: 'sender', username: 'sender' };
  const results: boolean[] = [];
  for (let seq = 1; seq <= 20; seq += 1) {
    results.push(
      push.send(session, {
        type: 'message',
        message: makeMessage(conversationId, sender, seq, { text: 'x'.repeat(900) }),
        conversation: { id: conversationId, kind: 'room', name: 'busy' },
      }),
      push.send(session, { type: 'typing', conversationId, user: sender, isTyping: true }),
    );
  }
  expect(results.every(Boolean)).toBe(true);
  expect(session.closing).toBe(false);
  await waitFor(() => client.frames.filter((f) => f.type === 'typing').length === 20, {
    description: 'the 20 typing frames',
  });
  expect(client.frames.flatMap((f) => (f.type === 'message' ? [f.message.seq] : []))).toEqual(
    Array.from({ length: 20 }, (_, i) => i + 1),
  );
  await client.close();
});
