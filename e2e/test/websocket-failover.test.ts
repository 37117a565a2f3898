// docs/design.md §7.1 and §7.4 under a crash: a websocket process is SIGKILLed in the middle
// of a conversation while both sides keep sending. Bob's client fails over to the
// other instance and resumes; alice (on the surviving instance) keeps going. Every
// message is delivered exactly once, in seq order, on both sides; bob's sends that were
// in flight when his instance died are neither lost nor stored twice; and the dead
// instance's users go offline for watchers on the other one.
import type { Message } from '@parley/contracts';
import {
  connect,
  createClient,
  createUsers,
  failoverWebSocket,
  Inbox,
  openRawSocket,
  type TestUser,
  useStack,
  waitFor,
} from '@parley/testing';

const e2e = useStack({ name: 'failover', websocketInstances: 2 });

const fromAlice = 60; // over REST
const fromBob = 20; // over WS, through the instance that is killed
const killAfter = 20; // of alice's sends

test('When the websocket process bob is on is SIGKILLed mid-conversation, then his client resumes on the other instance with nothing lost or doubled', async () => {
  const started = Date.now();
  const { stack } = e2e;
  const [ws0, ws1] = stack.services.websockets as [
    (typeof stack.services.websockets)[number],
    (typeof stack.services.websockets)[number],
  ];
  const users = await createUsers(stack, ['alice', 'bob', 'dave'], { websocket: 1 });
  const [alice, bob, dave] = users as [TestUser, TestUser, TestUser];

  // bob: the real client, first on websocket-0, failing over along the list
  const route = failoverWebSocket(stack.websocketUrls, { start: 0 });
  const bobInbox = new Inbox(await connect(bob, { webSocket: route.WebSocket }));
  // alice: on websocket-1, which survives; she watches bob and dave
  const aliceInbox = new Inbox(await connect(alice));
  // dave: a bare socket on websocket-0 that will not come back
  const daveSocket = await openRawSocket(ws0.url, dave.client.session?.accessToken ?? '');
  // presence is shown only to those who share a conversation
  await alice.client.createRoom({
    name: 'watchers',
    isPrivate: true,
    members: [bob.username, dave.username],
  });
  aliceInbox.rt.presenceSubscribe([bob.user.id, dave.user.id]);
  for (const id of [bob.user.id, dave.user.id]) {
    await aliceInbox.waitIn(
      aliceInbox.presence,
      (p) => p.userId === id && p.status === 'online',
      'online',
    );
  }

  const first = await alice.client.send({ to: bob.username, text: 'alice 0' });
  const dm = first.conversationId;
  const aliceSent: Message[] = [first];
  const bobSends: Promise<Message>[] = [];
  let killed: Promise<unknown> | undefined;
  for (let i = 1; i < fromAlice; i += 1) {
    if (i === killAfter) killed = ws0.kill('SIGKILL'); // not awaited: sends go on meanwhile
    aliceSent.push(await alice.client.send({ conversationId: dm, text: `alice ${i}` }));
    if ((i - 1) % 3 === 0 && bobSends.length < fromBob) {
      bobSends.push(bobInbox.rt.send({ conversationId: dm, text: `bob ${bobSends.length}` }));
    }
  }
  await killed;
  expect(ws0.running).toBe(false);
  // every send of bob's resolves (acked, some only after the failover), none rejected
  const bobSent = await Promise.all(bobSends);
  expect(bobSent).toHaveLength(fromBob);

  const total = fromAlice + fromBob;
  const stored = await allMessages(alice, dm);
  expect(stored.map((m) => m.seq)).toEqual(Array.from({ length: total }, (_, i) => i + 1));
  // nothing stored twice: each of bob's sends is in history exactly once
  const bobTexts = stored.filter((m) => m.sender.id === bob.user.id).map((m) => m.text);
  expect(bobTexts.sort()).toEqual(bobSent.map((m) => m.text).sort());
  expect(new Set(bobTexts).size).toBe(fromBob);

  for (const [who, inbox] of [
    ['bob', bobInbox],
    ['alice', aliceInbox],
  ] as const) {
    const got = await inbox.waitForMessages(dm, total, 20_000);
    expect({ who, ids: got.map((m) => m.id) }).toEqual({ who, ids: stored.map((m) => m.id) });
    expect({ who, duplicates: inbox.duplicateCount() }).toEqual({ who, duplicates: 0 });
  }
  // bob's client went to the OTHER instance, once
  expect(route.connections).toEqual([ws0.url, ws1.url]);
  expect(bobInbox.disconnects.map((d) => d.willReconnect)).toEqual([true]);
  expect(bobInbox.connects).toBe(1); // the reconnect (the first connect came before the inbox)

  // dave's instance is gone: alice (on the other one) sees him offline, bob still online
  await aliceInbox.waitIn(
    aliceInbox.presence,
    (p) => p.userId === dave.user.id && p.status === 'offline',
    'dave offline once his instance is declared dead',
    { timeoutMs: 15_000 },
  );
  // GET /presence may be answered by another instance, which declares ws-0 dead on
  // its own sweep (and holds offline for the grace): poll until it agrees
  const expected = [
    { userId: bob.user.id, status: 'online' },
    { userId: dave.user.id, status: 'offline' },
  ];
  const agreed = await waitFor(
    async () => {
      const presence = await alice.client.presence([bob.user.id, dave.user.id]);
      return JSON.stringify(presence) === JSON.stringify(expected) && presence;
    },
    { timeoutMs: 10_000, description: 'GET /presence to agree: bob online, dave offline' },
  );
  expect(agreed).toEqual(expected);
  expect(await daveSocket.closed).toBe(1006);

  process.stderr.write(
    `[e2e figures] websocket SIGKILL failover: ${JSON.stringify({
      sent: total,
      restFromAlice: fromAlice,
      wsFromBob: fromBob,
      receivedByBob: bobInbox.of(dm).length,
      receivedByAlice: aliceInbox.of(dm).length,
      lost: total - new Set(bobInbox.of(dm).map((m) => m.id)).size,
      doubled: bobInbox.duplicateCount() + aliceInbox.duplicateCount(),
      bobSources: bobInbox.sources(dm),
      ms: Date.now() - started,
    })}\n`,
  );
  bobInbox.rt.close();
  aliceInbox.rt.close();
}, 60_000);

test('When the killed instance is restarted, then it serves sockets again on the same port', async () => {
  const ws0 = e2e.stack.services.websockets[0];
  if (ws0 === undefined) throw new Error('no websocket-0');
  await ws0.restart();
  const [erin, frank] = (await createUsers(e2e.stack, ['erin', 'frank'])) as [TestUser, TestUser];
  const socket = await openRawSocket(ws0.url, erin.client.session?.accessToken ?? '');
  socket.sendJson({ type: 'ping' });
  await socket.next('pong');
  await socket.close();
  // and the client pointed at it works end to end
  const client = createClient(e2e.stack, { websocket: 0 });
  await client.login({ username: erin.username, password: erin.password });
  const rt = await connect({ ...erin, client });
  const sent = await rt.send({ to: frank.username, text: 'back up' });
  expect(sent.seq).toBe(1);
  rt.close();
});

async function allMessages(user: TestUser, conversationId: string): Promise<Message[]> {
  const messages: Message[] = [];
  for (;;) {
    const page = await user.client.history({
      conversationId,
      after: messages.at(-1)?.seq ?? 0,
      limit: 100,
    });
    messages.push(...page.messages);
    if (!page.hasMore) return messages;
  }
}
