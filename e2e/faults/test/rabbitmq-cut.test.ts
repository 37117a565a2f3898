// docs/design.md §7.1/§7.2 under a real broker outage: every service's link to RabbitMQ
// is cut at the TCP level for 10 s while users keep sending. Sends are stored and
// answered 201; once the link is back every message reaches every connected
// recipient exactly once (as the app sees it), and no process restarted.
import {
  connectAll,
  createUsers,
  expectGapFree,
  pendingOutbox,
  send,
  storedMessages,
  waitForDelivery,
  type Expected,
  type Participant,
  useFaultStack,
} from '../support/fault-stack';
import { failoverWebSocket, waitFor } from '@parley/testing';
import { loadFaultKnobs } from '../support/fault-knobs';

const CUT_MS = loadFaultKnobs().FAULT_CUT_MS;
jest.setTimeout(120_000);

const faults = useFaultStack({ name: 'amqpcut', websocketInstances: 2 });
let participants: Participant[] = [];

it('When the RabbitMQ link is cut for 10 s during sends, then every send is 201 and every message reaches every recipient once after it returns', async () => {
  const { stack } = faults;
  const users = await createUsers(stack, ['ann', 'bob', 'cid', 'dee']);
  const [ann, bob, cid, dee] = users as [
    (typeof users)[0],
    (typeof users)[0],
    (typeof users)[0],
    (typeof users)[0],
  ];
  // half the users on each websocket instance
  participants = await connectAll(users, (i) => ({
    webSocket: failoverWebSocket(stack.websocketUrls, { start: i % 2 }).WebSocket,
  }));
  const room = await ann.client.createRoom({
    name: 'cut-room',
    members: [bob.username, cid.username, dee.username],
  });
  const roomId = room.id;
  const everyone = users.map((u) => u.user.id);
  const expected: Expected[] = [];
  const first = await send(stack, ann, { conversationId: roomId, text: 'before the cut' });
  expect(first.status).toBe(201);
  expected.push({ message: first.message!, recipients: everyone });
  const direct = await send(stack, bob, { to: cid.username, text: 'direct, before the cut' });
  expected.push({ message: direct.message!, recipients: [bob.user.id, cid.user.id] });
  expect((await waitForDelivery(participants, expected, 10_000)).lost).toBe(0);
  const pids = stack.all.map((s) => s.pid);

  await faults.amqp.cut();
  const statuses: number[] = [];
  const cutEnds = Date.now() + CUT_MS;
  let n = 0;
  while (Date.now() < cutEnds) {
    const sender = users[n % users.length]!;
    const toRoom = n % 3 !== 2;
    const result = toRoom
      ? await send(stack, sender, { conversationId: roomId, text: `during the cut #${n}` })
      : await send(stack, bob, { to: cid.username, text: `direct during the cut #${n}` });
    statuses.push(result.status);
    if (result.message) {
      expected.push({
        message: result.message,
        recipients: toRoom ? everyone : [bob.user.id, cid.user.id],
      });
    }
    n += 1;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  await faults.amqp.restore();

  const report = await waitForDelivery(participants, expected, 30_000);
  process.stdout.write(
    `[faults] rabbitmq cut ${CUT_MS} ms: ${statuses.length} sends during the cut, ` +
      `${report.deliveriesExpected} deliveries expected, lost ${report.lost}, doubled ${report.doubled}, ` +
      `sources ${JSON.stringify(report.sources)}\n`,
  );
  expect(statuses.length).toBeGreaterThan(20);
  expect(statuses.every((s) => s === 201)).toBe(true);
  expect(report.lost).toBe(0);
  expect(report.doubled).toBe(0);
  await waitFor(async () => (await pendingOutbox(faults.db)) === 0, {
    timeoutMs: 10_000,
    description: 'an empty outbox',
  });
  expectGapFree(await storedMessages(faults.db, roomId));
  expect(stack.unexpectedExits).toEqual([]);
  expect(stack.all.map((s) => s.pid)).toEqual(pids);
  // nobody got a message twice even across all conversations
  for (const p of participants) expect(p.inbox.duplicateCount()).toBe(0);
  void dee;
});
