// docs/design.md §7.1 over time: 200 users in rooms of 10, spread over two websocket
// instances, chatting at a steady rate while sockets are dropped at random (the client
// reconnects, resumes and re-sends by itself). Nothing is lost or doubled at any
// client, and the resident memory of every service stays flat (RSS from /proc,
// sampled each second; the curve is printed and written as CSV next to the logs).
//
// SOAK_SECONDS sets the chatting time: 40 by default (CI); the full run is
// `SOAK_SECONDS=300 npx jest e2e/faults/test/soak` (see e2e/faults/README.md).
import path from 'node:path';
import {
  connectAll,
  waitForDelivery,
  type Expected,
  type Participant,
  useFaultStack,
} from '../support/fault-stack';
import {
  createManyUsers,
  createRooms,
  inBatches,
  droppableWebSocket,
  rssCurveText,
  rssVerdicts,
  runSendLoop,
  sampleRss,
  sleep,
  writeRssCurve,
  type DroppableWebSocket,
} from '../support/load';
import { loadFaultKnobs } from '../support/fault-knobs';

const { SOAK_SECONDS, SOAK_USERS: USERS } = loadFaultKnobs();
const ROOM_SIZE = 10;
/** Each user sends once per interval: 200 users → ~6.7 messages/s, ~67 deliveries/s. */
const SEND_INTERVAL_MS = 30_000;
/** One random socket dropped this often: ~2 reconnects a second across the users. */
const DROP_EVERY_MS = 500;
const WARM_UP_SECONDS = Math.min(30, Math.round(SOAK_SECONDS / 4));

jest.setTimeout((SOAK_SECONDS + 180) * 1_000);

const faults = useFaultStack({
  name: 'soak',
  websocketInstances: 2,
  websocketsThroughAmqpProxy: false,
  env: { LOG_LEVEL: 'warn' },
  serviceEnv: { auth: { REGISTRATIONS_PER_IP: String(USERS * 2) } },
});
let participants: Participant[] = [];

it(`When ${USERS} users chat for SOAK_SECONDS with random disconnects, then nothing is lost or doubled and every service's memory stays flat`, async () => {
  const { stack } = faults;
  const users = await createManyUsers(stack, USERS, 'soak');
  const sockets: DroppableWebSocket[] = users.map((_u, i) =>
    droppableWebSocket(stack.websocketUrls, { start: i % 2 }),
  );
  participants = (
    await inBatches(users, 25, (user, i) =>
      connectAll([user], () => ({ webSocket: sockets[i]!.WebSocket })),
    )
  ).flat();
  const rooms = await createRooms(participants, ROOM_SIZE, 'soak-room');

  const rss = sampleRss(stack, 1_000);
  const expected: Expected[] = [];
  const endsAt = Date.now() + SOAK_SECONDS * 1_000;
  let drops = 0;
  const dropper = (async () => {
    while (Date.now() < endsAt) {
      await sleep(DROP_EVERY_MS);
      if (sockets[Math.floor(Math.random() * sockets.length)]!.drop()) drops += 1;
    }
  })();
  const sends = await runSendLoop(rooms, {
    intervalMs: SEND_INTERVAL_MS,
    until: () => Date.now() >= endsAt,
    label: 'soak',
    expected,
  });
  await dropper;
  const report = await waitForDelivery(participants, expected, 60_000);
  const samples = rss.stop();

  // judged over the chatting time; the samples while deliveries settle are printed too
  const verdicts = rssVerdicts(
    samples.filter((s) => s.t <= SOAK_SECONDS),
    WARM_UP_SECONDS,
  );
  const csv = writeRssCurve(samples, path.join(stack.logDir, 'soak-rss.csv'));
  const duplicates = participants.reduce((n, p) => n + p.inbox.duplicateCount(), 0);
  process.stdout.write(
    `[soak] ${SOAK_SECONDS}s, ${USERS} users, ${rooms.length} rooms, 2 websocket instances: ` +
      `${sends.attempted} sends, ${sends.acked} acked, ${sends.retried} retried, ${sends.failed} failed; ${drops} sockets dropped; ` +
      `${report.deliveriesExpected} deliveries expected, lost ${report.lost}, doubled ${report.doubled}, ` +
      `duplicates at clients ${duplicates}; sources ${JSON.stringify(report.sources)}\n` +
      `[soak] RSS MiB after ${WARM_UP_SECONDS}s warm-up (start → end, peak; last-quarter median ≤ bound):\n` +
      verdicts
        .map(
          (v) =>
            `  ${v.label.padEnd(12)} ${v.start.toFixed(1)} → ${v.end.toFixed(1)} (peak ${v.peak.toFixed(1)}; ` +
            `medians ${v.firstQuarterMedian.toFixed(1)} → ${v.lastQuarterMedian.toFixed(1)} ≤ ${v.bound}) ${v.flat ? 'flat' : 'GROWING'}`,
        )
        .join('\n') +
      `\n[soak] RSS curve (MiB), full CSV in ${csv}:\n${rssCurveText(samples)}\n`,
  );

  const missing = lostDeliveries(participants, expected);
  if (missing.length > 0)
    process.stdout.write(`[soak] lost: ${JSON.stringify(missing.slice(0, 10))}\n`);
  expect(sends.failures).toEqual([]);
  expect(sends.acked).toBe(sends.attempted);
  expect(drops).toBeGreaterThan(SOAK_SECONDS); // about two a second
  expect(report.lost).toBe(0);
  expect(report.doubled).toBe(0);
  expect(duplicates).toBe(0);
  expect(verdicts.map((v) => v.label).sort()).toEqual(stack.all.map((s) => s.label).sort());
  for (const v of verdicts)
    expect({ label: v.label, flat: v.flat }).toEqual({ label: v.label, flat: true });
  expect(stack.unexpectedExits).toEqual([]);
});

/** Which (message, recipient) pairs never arrived, with what the recipient did see. */
function lostDeliveries(all: readonly Participant[], expected: readonly Expected[]) {
  const byId = new Map(all.map((p) => [p.user.user.id, p]));
  return expected.flatMap(({ message, recipients }) =>
    recipients
      .map((id) => byId.get(id))
      .filter((p): p is Participant => p !== undefined && p.inbox.deliveries(message.id) === 0)
      .map((p) => ({
        conversation: message.conversationId,
        seq: message.seq,
        sender: message.sender.username,
        recipient: p.user.username,
        seen: p.inbox.of(message.conversationId).map((m) => m.seq),
        disconnects: p.inbox.disconnects.length,
        connects: p.inbox.connects,
        syncErrors: p.inbox.syncErrors.length,
      })),
  );
}
