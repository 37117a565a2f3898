// docs/design.md §7.1 and §7.2 over real processes: RabbitMQ closes every AMQP connection
// of the stack (chat's publisher, both websocket instances' consumers) in the middle of
// a run while messages keep being sent. The services reconnect on their own; what chat
// could not publish meanwhile goes out from its outbox; what a websocket instance
// missed while its queue was gone is fetched by the clients' gap filling. Every
// message answered 201 reaches every connected member exactly once, in seq order.
import type { Message } from '@parley/contracts';
import {
  brokerConnectionsOf,
  closeBrokerConnections,
  connect,
  createClient,
  createUsers,
  Inbox,
  type TestUser,
  useStack,
  waitFor,
} from '@parley/testing';

const e2e = useStack({ name: 'broker-drop', websocketInstances: 2 });

const before = 10; // sent before the connections are closed
const during = 30; // sent right after, while the services reconnect
const after = 10; // sent once every service is back

test('When the broker drops every connection of the stack mid-run, then every stored message still reaches every member once', async () => {
  const started = Date.now();
  const { stack } = e2e;
  const [alice, bob, carol] = (await createUsers(stack, ['alice', 'bob', 'carol'])) as [
    TestUser,
    TestUser,
    TestUser,
  ];
  const carolOnWs1 = createClient(stack, { websocket: 1 });
  await carolOnWs1.login({ username: carol.username, password: carol.password });
  const inboxes = {
    alice: new Inbox(await connect(alice)), // ws-0, also the sender (over REST)
    bob: new Inbox(await connect(bob)), // ws-0
    carol: new Inbox(await connect({ ...carol, client: carolOnWs1 })), // ws-1
  };
  const room = await alice.client.createRoom({
    name: 'through the storm',
    members: [bob.username, carol.username],
  });
  const amqpHolders = [stack.services.chat, ...stack.services.websockets];

  const stored: Message[] = [];
  const send = async (i: number) => {
    stored.push(await alice.client.send({ conversationId: room.id, text: `message ${i}` }));
  };
  for (let i = 0; i < before; i += 1) await send(i);

  // every AMQP connection this stack's processes hold, closed by the broker
  const connections = await waitFor(
    async () => {
      const found = await brokerConnectionsOf(amqpHolders);
      return found.length === amqpHolders.length ? found : undefined;
    },
    { timeoutMs: 15_000, description: 'one broker connection per chat/websocket process' },
  );
  const logMarks = amqpHolders.map((service) => service.lines().length);
  await closeBrokerConnections(connections, 'e2e: broker drops the stack');
  for (let i = before; i < before + during; i += 1) await send(i);

  // each service says it reconnected by itself, holds a new connection, and is ready
  await Promise.all(
    amqpHolders.map((service, index) =>
      service.waitForLine(/RabbitMQ reconnected/, {
        from: logMarks[index] ?? 0,
        timeoutMs: 20_000,
      }),
    ),
  );
  const closedPids = new Set(connections.map((c) => c.pid));
  await waitFor(
    async () => {
      const now = await brokerConnectionsOf(amqpHolders);
      return now.length === amqpHolders.length && now.every((c) => !closedPids.has(c.pid));
    },
    { timeoutMs: 20_000, description: 'new broker connections for every process' },
  );
  await waitFor(
    async () => {
      const answers = await Promise.all(
        amqpHolders.map((s) => fetch(`${s.url}/readyz`).then((r) => r.status)),
      );
      return answers.every((status) => status === 200);
    },
    { timeoutMs: 20_000, description: 'chat and both websockets ready again' },
  );
  for (let i = before + during; i < before + during + after; i += 1) await send(i);

  const total = before + during + after;
  expect(stored.map((m) => m.seq)).toEqual(Array.from({ length: total }, (_, i) => i + 1));
  const history = await alice.client.history({ conversationId: room.id, limit: 100 });
  expect(history.messages.map((m) => m.id)).toEqual(stored.map((m) => m.id));

  const received: Record<string, unknown> = {};
  for (const [who, inbox] of Object.entries(inboxes)) {
    const got = await inbox.waitForMessages(room.id, total, 20_000);
    expect({ who, ids: got.map((m) => m.id) }).toEqual({ who, ids: stored.map((m) => m.id) });
    expect({ who, duplicates: inbox.duplicateCount() }).toEqual({ who, duplicates: 0 });
    expect({ who, syncErrors: inbox.syncErrors }).toEqual({ who, syncErrors: [] });
    received[who] = { count: got.length, sources: inbox.sources(room.id) };
  }
  process.stderr.write(
    `[e2e figures] broker drops ${connections.length} connections: ${JSON.stringify({
      sent201: total,
      sentWhileReconnecting: during,
      lost: 0,
      doubled: 0,
      received,
      ms: Date.now() - started,
    })}\n`,
  );
}, 90_000);
