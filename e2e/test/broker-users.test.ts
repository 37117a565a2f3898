// The three services under the broker users and rights docker-compose.yml gives them
// (tools/docker/rabbitmq/definitions.json, loaded into a vhost of its own): everything
// still works end to end, and each user can do no more than its service needs. Above
// all, the websocket user cannot publish a chat event (docs/design.md §9.6).
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WS_CLOSE, createEvent } from '@parley/contracts';
import amqplib from 'amqplib';
import {
  amqpUrl,
  connect,
  createUsers,
  Inbox,
  loadComposeDefinitions,
  openRawSocket,
  uniqueName,
  useStack,
  waitFor,
  type DefinitionsVhost,
  type TestUser,
} from '@parley/testing';

const vhostName = uniqueName('parley-e2e-users').toLowerCase();
let broker: DefinitionsVhost | undefined;
const urlOf = (user: Parameters<DefinitionsVhost['urlOf']>[0]) => {
  if (!broker) throw new Error('the definitions are not loaded');
  return broker.urlOf(user);
};

// before the stack starts (hooks run in the order they are registered)
beforeAll(async () => {
  broker = await loadComposeDefinitions(amqpUrl(), vhostName);
  // the import is asynchronous: wait until the last user can log in
  await waitFor(
    async () => {
      const connection = await amqplib.connect(urlOf('parley-websocket'));
      await connection.close();
      return true;
    },
    { timeoutMs: 20_000, description: 'the imported broker users' },
  );
}, 60_000);
afterAll(async () => {
  await broker?.remove();
}, 60_000);

const exchanges = { EVENTS_EXCHANGE: 'chat.events', PRESENCE_EXCHANGE: 'chat.presence' };
const e2e = useStack({
  name: 'brokerusers',
  webhooks: true,
  serviceEnv: {
    auth: () => ({ AMQP_URL: urlOf('parley-auth'), EVENTS_EXCHANGE: exchanges.EVENTS_EXCHANGE }),
    chat: () => ({ AMQP_URL: urlOf('parley-chat'), EVENTS_EXCHANGE: exchanges.EVENTS_EXCHANGE }),
    websocket: () => ({ AMQP_URL: urlOf('parley-websocket'), ...exchanges }),
    webhooks: () => ({
      AMQP_URL: urlOf('parley-webhooks'),
      EVENTS_EXCHANGE: exchanges.EVENTS_EXCHANGE,
      WEBHOOK_QUEUE: 'chat.webhooks',
    }),
  },
});

function token(user: TestUser): string {
  const session = user.client.session;
  if (session === null) throw new Error(`${user.username} is not logged in`);
  return session.accessToken;
}

/** Publishes one message as `user`; resolves with the broker's verdict. */
async function publishAs(
  user: Parameters<DefinitionsVhost['urlOf']>[0],
  exchange: string,
): Promise<'confirmed' | string> {
  const connection = await amqplib.connect(urlOf(user));
  try {
    const channel = await connection.createConfirmChannel();
    const closed = new Promise<string>((resolve) =>
      channel.once('error', (err: Error) => resolve(err.message)),
    );
    const event = createEvent('read', { conversationId: 'forged', userId: 'x', seq: 1 }, ['x']);
    const published = new Promise<string>((resolve) => {
      channel.publish(exchange, '', Buffer.from(JSON.stringify(event)), {}, (err) =>
        resolve(err ? `nacked: ${String(err)}` : 'confirmed'),
      );
    });
    return await Promise.race([closed, published]);
  } finally {
    await connection.close().catch(() => undefined);
  }
}

test('When the services run as their compose broker users, then a message, presence and a revocation all get through', async () => {
  const [alice, bob] = (await createUsers(e2e.stack, ['alice', 'bob'])) as [TestUser, TestUser];
  const bobs = new Inbox(await connect(bob));

  // chat publishes, websocket delivers
  const sent = await alice.client.send({ to: bob.username, text: 'through least rights' });
  await bobs.waitIn(bobs.messages, (d) => d.message.id === sent.id, 'the message');
  // websocket instances tell each other presence (bob may watch alice: they share a conversation)
  bobs.rt.presenceSubscribe([alice.user.id]);
  const alicesSocket = await openRawSocket(e2e.stack.websocketUrls[0] as string, token(alice));
  await bobs.waitIn(
    bobs.presence,
    (p) => p.userId === alice.user.id && p.status === 'online',
    'alice online',
  );
  // auth publishes session_revoked
  await alice.client.logoutAll();

  expect(await alicesSocket.closed).toBe(WS_CLOSE.tokenExpired);
});

test('When the webhook worker runs as its compose broker user, then it reads chat.events through its own queue and delivers', async () => {
  const [alice, bob] = (await createUsers(e2e.stack, ['alice', 'bob'])) as [TestUser, TestUser];
  const received: string[] = [];
  const receiver = createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (c: Buffer) => parts.push(c));
    req.on('end', () => {
      received.push(Buffer.concat(parts).toString('utf8'));
      res.writeHead(204).end();
    });
  });
  receiver.listen(0, '127.0.0.1');
  await once(receiver, 'listening');
  try {
    const room = await alice.client.createRoom({ name: 'hooks', members: [bob.username] });
    const port = (receiver.address() as AddressInfo).port;
    const res = await fetch(`${e2e.stack.chatUrl}/chat/rooms/${room.id}/webhooks`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token(alice)}`, 'content-type': 'application/json' },
      body: JSON.stringify({ url: `http://127.0.0.1:${port}/hook`, events: ['new_message'] }),
    });
    expect(res.status).toBe(201);

    const sent = await alice.client.send({ conversationId: room.id, text: 'to the bots' });

    await waitFor(() => received.some((body) => body.includes(sent.id)), {
      description: 'the webhook delivery',
    });
  } finally {
    receiver.closeAllConnections();
    receiver.close();
  }
});

test('When each compose broker user tries to publish on the shared exchanges, then only what its service needs is allowed', async () => {
  const verdicts = {
    websocketOnChatEvents: await publishAs('parley-websocket', 'chat.events'),
    websocketOnPresence: await publishAs('parley-websocket', 'chat.presence'),
    authOnChatEvents: await publishAs('parley-auth', 'chat.events'),
    authOnPresence: await publishAs('parley-auth', 'chat.presence'),
    chatOnChatEvents: await publishAs('parley-chat', 'chat.events'),
    chatOnPresence: await publishAs('parley-chat', 'chat.presence'),
    webhooksOnChatEvents: await publishAs('parley-webhooks', 'chat.events'),
  };

  expect(verdicts).toEqual({
    websocketOnChatEvents: expect.stringMatching(/ACCESS_REFUSED|403/),
    websocketOnPresence: 'confirmed',
    authOnChatEvents: 'confirmed',
    authOnPresence: expect.stringMatching(/ACCESS_REFUSED|403/),
    chatOnChatEvents: 'confirmed',
    chatOnPresence: expect.stringMatching(/ACCESS_REFUSED|403/),
    webhooksOnChatEvents: expect.stringMatching(/ACCESS_REFUSED|403/),
  });
});

test('When the auth or chat broker user tries to read chat events, then it cannot even declare a queue', async () => {
  for (const user of ['parley-auth', 'parley-chat'] as const) {
    const connection = await amqplib.connect(urlOf(user));
    try {
      const channel = await connection.createChannel();
      channel.on('error', () => undefined);
      await expect(channel.assertQueue('', { exclusive: true })).rejects.toThrow(/ACCESS_REFUSED/);
    } finally {
      await connection.close().catch(() => undefined);
    }
  }
});
