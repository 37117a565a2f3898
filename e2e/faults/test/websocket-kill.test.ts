// docs/design.md §7.1/§7.4 when a websocket instance dies under load: 20 users, half on
// each of two instances, in rooms that span both, all sending steadily over their
// sockets. websocket-0 is SIGKILLed mid-stream; its clients reconnect to websocket-1,
// resume by seq and re-send their unacknowledged sends with the same refs. Every
// message acked reaches every room member exactly once (as the app sees it).
import {
  connectAll,
  createUsers,
  expectGapFree,
  storedMessages,
  waitForDelivery,
  type Expected,
  type Participant,
  useFaultStack,
} from '../support/fault-stack';
import { createRooms, droppableWebSocket, runSendLoop, sleep } from '../support/load';

jest.setTimeout(120_000);

const USERS = 20;
// ~13 sends/s in all: what chat over the FerretDB dev server serves with room to spare
const SEND_INTERVAL_MS = 1_500;
const faults = useFaultStack({
  name: 'wskill',
  websocketInstances: 2,
  websocketsThroughAmqpProxy: false,
});
let participants: Participant[] = [];

it('When a websocket instance is SIGKILLed mid-load, then its clients resume on the other and nothing is lost or doubled', async () => {
  const { stack } = faults;
  const users = await createUsers(
    stack,
    Array.from({ length: USERS }, (_v, i) => `wk${i}`),
  );
  // even users start on websocket-0, odd on websocket-1; a reconnect moves to the other
  participants = await connectAll(users, (i) => ({
    webSocket: droppableWebSocket(stack.websocketUrls, { start: i % 2 }).WebSocket,
  }));
  const rooms = await createRooms(participants, 5, 'kill-room');
  const expected: Expected[] = [];
  let stopSending = false;
  const loop = runSendLoop(rooms, {
    intervalMs: SEND_INTERVAL_MS,
    until: () => stopSending,
    label: 'load',
    expected,
  });

  await sleep(2_500);
  const victim = stack.services.websockets[0]!;
  await victim.kill('SIGKILL');
  const killedAt = expected.length;
  await sleep(4_000);
  stopSending = true;
  const sends = await loop;

  const report = await waitForDelivery(participants, expected, 30_000);
  const reconnected = participants.filter(
    (p) => p.inbox.disconnects.length > 0 && p.inbox.connects >= 1,
  ).length;
  process.stdout.write(
    `[faults] websocket-0 SIGKILL under load: ${sends.attempted} sends (${sends.acked} acked, ` +
      `${sends.retried} retried, ${sends.failed} failed, ${killedAt} acked before the kill), ${reconnected} clients reconnected, ` +
      `${report.deliveriesExpected} deliveries expected, lost ${report.lost}, doubled ${report.doubled}, ` +
      `sources ${JSON.stringify(report.sources)}\n`,
  );
  expect(sends.failures).toEqual([]);
  expect(sends.acked).toBe(sends.attempted);
  expect(expected.length).toBeGreaterThan(killedAt);
  expect(reconnected).toBeGreaterThanOrEqual(USERS / 2);
  expect(report.lost).toBe(0);
  expect(report.doubled).toBe(0);
  for (const p of participants) expect(p.inbox.duplicateCount()).toBe(0);
  for (const room of rooms) expectGapFree(await storedMessages(faults.db, room.id));
  expect(stack.unexpectedExits).toEqual([]);
});
