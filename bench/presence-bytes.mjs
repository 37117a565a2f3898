// Presence traffic between websocket instances (docs/scaling.md, docs/design.md §14):
// bytes per second per instance on chat.presence with 10,000 users over 2, 4 and 8
// instances, for the design in services/websocket (deltas + a fixed-size digest per
// heartbeat, snapshots on request) and for the full snapshot per heartbeat it replaced.
//
// In-process and in virtual time: N presence trackers from the build
// (services/websocket/dist/presence-tracker.js) joined by an in-memory fanout that
// counts the JSON bodies it carries (what goes over AMQP, without AMQP's ~60 bytes of
// framing per message) and hands each message to every instance, its publisher
// included, as RabbitMQ's fanout does. The earlier design is counted from the same
// run: its deltas were the same events without `epoch`/`seq`, plus each heartbeat a
// `presence_snapshot` of all the instance's users, serialised here from the same state.
//
//   node bench/presence-bytes.mjs [--users 10000] [--instances 2,4,8] [--churn 0,10,100]
import { createRequire } from 'node:module';
import { randomBytes, randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';

const require = createRequire(import.meta.url);
const { createPresenceTracker } = require('../services/websocket/dist/presence-tracker.js');

const { values } = parseArgs({
  options: {
    users: { type: 'string', default: '10000' },
    instances: { type: 'string', default: '2,4,8' },
    churn: { type: 'string', default: '0,10,100' },
    seconds: { type: 'string', default: '60' },
  },
});
const USERS = Number(values.users);
const SECONDS = Number(values.seconds);
const HEARTBEAT_MS = 5_000;
const silent = { info() {}, warn() {}, error() {}, debug() {}, child: () => silent };

function envelope(type, data) {
  return {
    id: randomUUID(),
    type,
    version: 1,
    occurredAt: new Date().toISOString(),
    recipients: [],
    data,
  };
}

/** One run: n instances, `churn` presence transitions per second over the cluster. */
function simulate(n, churn) {
  let now = 0;
  const userIds = Array.from({ length: USERS }, () => randomBytes(12).toString('hex'));
  const holders = new Map(); // userId → instance index, for online users
  const locals = Array.from({ length: n }, () => new Set());
  const counting = { on: false };
  const published = new Array(n).fill(0);
  const received = new Array(n).fill(0);
  const legacyPublished = new Array(n).fill(0);
  const trackers = [];
  const deliver = (from, event) => {
    const body = JSON.stringify(event);
    if (counting.on) {
      published[from] += body.length;
      for (let i = 0; i < n; i += 1) received[i] += body.length;
      if (event.type === 'presence') {
        // the earlier delta: the same event without epoch and seq
        const { epoch: _e, seq: _s, ...data } = event.data;
        legacyPublished[from] += JSON.stringify({ ...event, data }).length;
      }
    }
    const parsed = JSON.parse(body);
    for (const tracker of trackers) tracker.apply(parsed);
    return Promise.resolve();
  };
  for (let i = 0; i < n; i += 1) {
    const local = locals[i];
    trackers.push(
      createPresenceTracker({
        instanceId: `ws-${i}`,
        local: { hasUser: (u) => local.has(u), userIds: () => [...local] },
        publisher: { publish: (event) => deliver(i, event) },
        heartbeatMs: HEARTBEAT_MS,
        timeoutMs: 3 * HEARTBEAT_MS,
        now: () => now,
        logger: silent,
        onChange: () => undefined,
      }),
    );
  }
  // everyone online at first, spread evenly
  userIds.forEach((userId, k) => {
    const i = k % n;
    locals[i].add(userId);
    holders.set(userId, i);
  });
  for (const tracker of trackers) tracker.start();
  for (const tracker of trackers) tracker.stop(); // heartbeats are driven below

  const transition = () => {
    const userId = userIds[Math.floor(Math.random() * USERS)];
    const at = holders.get(userId);
    if (at === undefined) {
      const i = Math.floor(Math.random() * n);
      locals[i].add(userId);
      holders.set(userId, i);
      trackers[i].localOnline(userId);
    } else {
      locals[at].delete(userId);
      holders.delete(userId);
      trackers[at].localOffline(userId);
    }
  };

  const stepMs = 100;
  const warmupMs = 2 * HEARTBEAT_MS;
  let owed = 0;
  for (let t = 0; t < warmupMs + SECONDS * 1000; t += stepMs) {
    now = t;
    counting.on = t >= warmupMs;
    owed += (churn * stepMs) / 1000;
    for (; owed >= 1; owed -= 1) transition();
    if (t % HEARTBEAT_MS === 0 && t > 0) {
      trackers.forEach((tracker, i) => {
        tracker.heartbeat();
        if (counting.on) {
          // the earlier heartbeat: every user the instance holds
          legacyPublished[i] += JSON.stringify(
            envelope('presence_snapshot', {
              instanceId: `ws-${i}`,
              userIds: [...locals[i]],
              at: new Date(now).toISOString(),
            }),
          ).length;
        }
      });
    }
  }
  // every instance agrees with the truth at the end
  const wrong = userIds.filter((u) =>
    trackers.some((tracker) => tracker.status(u) !== (holders.has(u) ? 'online' : 'offline')),
  ).length;
  const perSecond = (list) => list.reduce((a, b) => a + b, 0) / list.length / SECONDS;
  const legacyReceived = legacyPublished.reduce((a, b) => a + b, 0) / SECONDS;
  return {
    instances: n,
    users: USERS,
    churnPerSecond: churn,
    publishedPerInstance: perSecond(published),
    receivedPerInstance: perSecond(received),
    legacyPublishedPerInstance: perSecond(legacyPublished),
    legacyReceivedPerInstance: legacyReceived,
    wrongStatuses: wrong,
  };
}

const rows = [];
for (const churn of values.churn.split(',').map(Number)) {
  for (const n of values.instances.split(',').map(Number)) rows.push(simulate(n, churn));
}
const f = (x) => Math.round(x).toLocaleString('en-US');
console.log(
  `presence bytes/s per instance, ${USERS.toLocaleString('en-US')} users, heartbeat ${HEARTBEAT_MS / 1000} s, ${SECONDS} s measured (in-process, JSON bodies)\n`,
);
console.log(
  '| instances | transitions/s (cluster) | published B/s (deltas + digest) | received B/s | before: published B/s (deltas + snapshot) | before: received B/s | statuses wrong at the end |',
);
console.log('| --- | --- | --- | --- | --- | --- | --- |');
for (const r of rows) {
  console.log(
    `| ${r.instances} | ${r.churnPerSecond} | ${f(r.publishedPerInstance)} | ${f(r.receivedPerInstance)} | ${f(r.legacyPublishedPerInstance)} | ${f(r.legacyReceivedPerInstance)} | ${r.wrongStatuses} |`,
  );
}
