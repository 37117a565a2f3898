// docs/design.md §4.11 "stored means announced" when the chat process dies at the worst
// moment: a test hook (CHAT_TEST_CRASH_AFTER_STORE, honoured only in NODE_ENV=test)
// makes chat SIGKILL itself right after a message is stored and before its event is
// published. The dead process's relay checkpoint (services/chat/src/outbox/message-relay.ts)
// stops beating; the restarted process adopts it after the lease and republishes the
// tail it covers; every recipient sees the message exactly once, and a retry with the
// same clientMsgId (REST) or ref (a WebSocket send) gets the original, not a second one.
import { randomUUID } from 'node:crypto';
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
import { waitFor } from '@parley/testing';
import type { Message } from '@parley/contracts';

jest.setTimeout(120_000);

const CRASH = '#crash-after-store#';
const faults = useFaultStack({
  name: 'chatcrash',
  websocketInstances: 1,
  serviceEnv: { chat: { CHAT_TEST_CRASH_AFTER_STORE: CRASH } },
});
let participants: Participant[] = [];

async function storedByText(text: string): Promise<{ _id: unknown; origin?: string }[]> {
  return faults.db
    .db()
    .collection<{ _id: unknown; text: string; origin?: string }>('messages')
    .find({ text })
    .toArray();
}

/** The relay checkpoint of the chat instance that stored a message, if still there. */
async function checkpointOf(origin: string | undefined): Promise<unknown> {
  return faults.db
    .db()
    .collection<{ _id: string }>('relay_checkpoints')
    .findOne({ _id: origin ?? '' });
}

function idOf(docId: unknown): string {
  return (docId as { toHexString(): string }).toHexString();
}

/** The relay of the restarted process, not a client's gap fill, brings it to everyone. */
async function expectAnnouncedLive(docId: unknown): Promise<void> {
  const id = idOf(docId);
  await waitFor(() => participants.every((p) => p.inbox.deliveries(id) === 1), {
    timeoutMs: 10_000,
    description: `message ${id} at every participant`,
  });
  for (const p of participants) {
    expect(p.inbox.messages.find((d) => d.message.id === id)?.source).toBe('live');
  }
}

it('When chat is SIGKILLed between storing a message and publishing it, then after a restart the outbox announces it once and retries get the original', async () => {
  const { stack } = faults;
  const chat = stack.services.chat;
  const users = await createUsers(stack, ['ann', 'bob', 'cid']);
  const [ann, bob, cid] = users as [(typeof users)[0], (typeof users)[0], (typeof users)[0]];
  participants = await connectAll(users);
  const [annP] = participants as [Participant];
  const room = await ann.client.createRoom({
    name: 'crash-room',
    members: [bob.username, cid.username],
  });
  const everyone = users.map((u) => u.user.id);
  const expected: Expected[] = [];
  const before = await send(stack, ann, { conversationId: room.id, text: 'before the crash' });
  expect(before.status).toBe(201);
  expected.push({ message: before.message!, recipients: everyone });
  expect((await waitForDelivery(participants, expected, 10_000)).lost).toBe(0);

  // 1. A REST send: the process dies after the insert, so the client gets no answer.
  const restText = `rest ${CRASH}`;
  const clientMsgId = randomUUID();
  const crashed = await send(stack, ann, { conversationId: room.id, text: restText, clientMsgId });
  expect(crashed.status).toBe(0);
  expect((await chat.exited).signal).toBe('SIGKILL');
  const [stored] = await storedByText(restText);
  // stored; its instance's checkpoint, left behind, covers it
  expect(await checkpointOf(stored?.origin)).not.toBeNull();

  await chat.restart({ env: { CHAT_TEST_CRASH_AFTER_STORE: '' } });
  await expectAnnouncedLive(stored!._id);
  await waitFor(async () => (await checkpointOf(stored?.origin)) === null, {
    timeoutMs: 10_000,
    description: "the dead instance's checkpoint adopted",
  });
  const retried = await send(stack, ann, { conversationId: room.id, text: restText, clientMsgId });
  expect(retried.status).toBe(200); // the original, not a second message
  expect(retried.message?.id).toBe(idOf(stored!._id));
  expected.push({ message: retried.message!, recipients: everyone });

  // 2. A WebSocket send: chat dies under the websocket's forwarded request.
  await chat.restart({ env: { CHAT_TEST_CRASH_AFTER_STORE: CRASH } });
  const wsText = `socket ${CRASH}`;
  const ref = randomUUID();
  const firstTry = await annP.rt.send({ conversationId: room.id, text: wsText, ref }).then(
    (m: Message) => ({ ok: true as const, m }),
    (err: unknown) => ({ ok: false as const, err }),
  );
  expect(firstTry.ok).toBe(false); // no ack: chat died before answering
  expect((await chat.exited).signal).toBe('SIGKILL');
  const [storedWs] = await storedByText(wsText);
  expect(await checkpointOf(storedWs?.origin)).not.toBeNull();
  await chat.restart({ env: { CHAT_TEST_CRASH_AFTER_STORE: '' } });
  await expectAnnouncedLive(storedWs!._id);
  const acked = await annP.rt.send({ conversationId: room.id, text: wsText, ref });
  expect(acked.id).toBe(idOf(storedWs!._id));
  expected.push({ message: acked, recipients: everyone });

  const after = await send(stack, bob, { conversationId: room.id, text: 'after the crashes' });
  expect(after.status).toBe(201);
  expected.push({ message: after.message!, recipients: everyone });

  const report = await waitForDelivery(participants, expected, 20_000);
  process.stdout.write(
    `[faults] chat SIGKILL after store (2 crashes): ${report.deliveriesExpected} deliveries expected, ` +
      `lost ${report.lost}, doubled ${report.doubled}, sources ${JSON.stringify(report.sources)}\n`,
  );
  expect(report.lost).toBe(0);
  expect(report.doubled).toBe(0);
  for (const p of participants) expect(p.inbox.duplicateCount()).toBe(0);
  expect(await storedByText(restText)).toHaveLength(1);
  expect(await storedByText(wsText)).toHaveLength(1);
  await waitFor(async () => (await pendingOutbox(faults.db)) === 0, {
    timeoutMs: 10_000,
    description: 'an empty outbox',
  });
  expectGapFree(await storedMessages(faults.db, room.id));
  // the only exits no one asked for are the two crashes the hook caused
  expect(stack.unexpectedExits.map((e) => [e.label, e.exit.signal])).toEqual([
    ['chat', 'SIGKILL'],
    ['chat', 'SIGKILL'],
  ]);
});
