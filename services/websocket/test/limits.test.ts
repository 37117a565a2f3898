// Limits and abuse (docs/design.md §6): oversized frames, floods, persistent garbage, slow
// readers, dead peers and expired tokens each end the connection with their code.
import { WS_CLOSE } from '@parley/contracts';
import { uniqueName, waitFor } from '@parley/testing';
import type { Socket } from 'node:net';
import request from 'supertest';
import { makeConversation } from './support/fixtures';
import { connect, newUser, useWebsocketHarness } from './support/websocket-harness';

const ws = useWebsocketHarness({
  name: 'ws-limits',
  env: {
    MAX_FRAME_BYTES: '4096',
    RATE_LIMIT_PER_SECOND: '5',
    RATE_LIMIT_BURST: '10',
    ABUSE_MAX_BAD_FRAMES: '5',
    SEND_BUFFER_SOFT_LIMIT_BYTES: '65536',
    SEND_BUFFER_LIMIT_BYTES: '2097152',
    CLOSE_GRACE_MS: '5000',
  },
});

function rawSocket(ws: unknown): Socket {
  return (ws as { _socket: Socket })._socket;
}

test('When a frame is larger than MAX_FRAME_BYTES, then the socket is closed with 1009', async () => {
  const client = await connect(ws.instance.wsBase, newUser(ws.issuer).token);
  client.ws.send(JSON.stringify({ type: 'ping', pad: 'x'.repeat(5000) }));
  expect((await client.closed).code).toBe(WS_CLOSE.messageTooBig);
});

test('When a client floods past its rate limit, then it is closed with 1008', async () => {
  const client = await connect(ws.instance.wsBase, newUser(ws.issuer).token);
  for (let i = 0; i < 50; i++) client.sendJson({ type: 'ping' });
  expect((await client.closed).code).toBe(WS_CLOSE.policyViolation);
  // it got pongs for its burst before the close
  expect(client.frames.filter((f) => f.type === 'pong').length).toBeGreaterThanOrEqual(9);
});

test('When a client keeps sending bad frames, then it is closed with 1008 after the allowance', async () => {
  const client = await connect(ws.instance.wsBase, newUser(ws.issuer).token);
  for (let i = 0; i < 5; i++) client.ws.send('garbage');
  expect((await client.closed).code).toBe(WS_CLOSE.policyViolation);
  expect(client.frames.filter((f) => f.type === 'error')).toHaveLength(5);
});

test('When a client stops reading while many events arrive, then typing frames are dropped first and it is closed with 4008', async () => {
  const reader = newUser(ws.issuer);
  const client = await connect(ws.instance.wsBase, reader.token);
  const healthy = await connect(ws.instance.wsBase, newUser(ws.issuer).token);
  rawSocket(client.ws).pause();

  // conversation_updated frames with many members are large: the kernel buffers fill quickly
  const members = Array.from({ length: 5000 }, (_, i) => ({
    id: `member-${i}`,
    username: `member_${i}`,
  }));
  const conversation = makeConversation(
    { id: uniqueName('conv'), kind: 'room', name: 'big' },
    members,
  );
  const closed4008 = () =>
    request(ws.instance.metricsUrl)
      .get('/metrics')
      .then((res) => /ws_closes_total\{[^}]*code="4008"[^}]*\} [1-9]/.test(res.text));
  await waitFor(
    async () => {
      for (let i = 0; i < 5; i++) {
        await ws.injector.publish('conversation_updated', { conversation }, [reader.userId]);
      }
      const typist = { id: 'typist', username: 'typist' };
      await ws.injector.publish(
        'typing',
        { conversationId: conversation.id, user: typist, isTyping: true },
        [reader.userId],
      );
      return closed4008();
    },
    { timeoutMs: 40_000, intervalMs: 1, description: 'the slow consumer to be closed' },
  );
  rawSocket(client.ws).resume();
  expect((await client.closed).code).toBe(WS_CLOSE.slowConsumer);
  const metrics = await request(ws.instance.metricsUrl).get('/metrics');
  expect(metrics.text).toMatch(/ws_frames_dropped_total\{[^}]*type="typing"[^}]*\} [1-9]/);

  // the others are unaffected
  healthy.sendJson({ type: 'ping' });
  await healthy.next('pong');
  await healthy.close();
}, 60_000);

test('When a peer stops answering pings, then it is dropped by the heartbeat', async () => {
  const beating = await ws.startInstance({ env: { HEARTBEAT_INTERVAL_MS: '200' } });
  try {
    const user = newUser(ws.issuer);
    const client = await connect(beating.wsBase, user.token);
    const answering = await connect(beating.wsBase, newUser(ws.issuer).token);
    rawSocket(client.ws).pause();
    await waitFor(() => beating.app.registry.countForUser(user.userId) === 0, {
      timeoutMs: 5_000,
      description: 'the dead peer to be dropped',
    });
    rawSocket(client.ws).resume();
    expect((await client.closed).code).toBe(1006);
    // a live peer answers the pings (ws clients pong automatically) and stays
    expect(beating.app.registry.countForUser(answering.ready.userId)).toBe(1);
    await answering.close();
  } finally {
    await beating.stop();
  }
});

describe('token expiry', () => {
  test('When the token expires, then the socket is closed with 4001', async () => {
    const user = newUser(ws.issuer, 2);
    const client = await connect(ws.instance.wsBase, user.token);
    const started = Date.now();
    expect((await client.closed).code).toBe(WS_CLOSE.tokenExpired);
    expect(Date.now() - started).toBeLessThan(4_000);
  });

  test('When the client sends a fresh token before expiry, then the socket outlives the first token', async () => {
    const user = newUser(ws.issuer, 2);
    const client = await connect(ws.instance.wsBase, user.token);
    client.sendJson({
      type: 'auth',
      token: ws.issuer.mint({ userId: user.userId, username: user.username, expiresInSeconds: 60 }),
    });
    const firstExpiry = Date.now() + 3_500;
    await waitFor(() => Date.now() > firstExpiry, {
      timeoutMs: 5_000,
      description: 'the first token to be past',
    });
    client.sendJson({ type: 'ping' });
    await client.next('pong');
    expect(client.ws.readyState).toBe(client.ws.OPEN);
    await client.close();
  });

  test('When the auth frame carries an invalid token, then an error frame says unauthorized and the socket stays', async () => {
    const user = newUser(ws.issuer);
    const client = await connect(ws.instance.wsBase, user.token);
    client.sendJson({ type: 'auth', token: 'garbage' });
    expect(await client.next('error')).toMatchObject({ code: 'unauthorized' });
    client.sendJson({ type: 'ping' });
    await client.next('pong');
    await client.close();
  });

  test('When the auth frame carries another user token, then the socket is closed with 1008', async () => {
    const client = await connect(ws.instance.wsBase, newUser(ws.issuer).token);
    client.sendJson({ type: 'auth', token: newUser(ws.issuer).token });
    expect(await client.next('error')).toMatchObject({ code: 'forbidden' });
    expect((await client.closed).code).toBe(WS_CLOSE.policyViolation);
  });
});
