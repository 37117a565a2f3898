// `pnpm bench -- --instances N` (docs/scaling.md, docs/design.md §14): the per-instance
// costs of the websocket tier with 1…N instances behind the one fanout exchange.
//
// For each instance count n, a stack (auth, chat, n websocket processes) on the local
// RabbitMQ and the FerretDB dev server (or --mongo-url), `users` raw sockets spread
// round-robin over the instances, and events published straight to the stack's
// exchange (what chat's outbox relay does), so chat's cost is not in the figures:
//   idle       no traffic: CPU and RSS per idle socket, presence bytes on chat.presence
//   no-local   events whose recipient is connected nowhere: every instance decodes and
//              drops each one, the fanout's cost without a delivery
//   delivery   events with one connected recipient each: CPU per delivery (minus the
//              no-local cost every instance pays for the event anyway)
//   rate       a burst published as fast as confirms allow: deliveries per second
// CPU is utime+stime of the websocket processes from /proc (10 ms ticks), so windows
// are several seconds long. The machine's load is recorded: on a shared machine the
// figures are upper bounds.
import { mkdirSync, writeFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import amqp from 'amqplib';
import WebSocket from 'ws';
import { mkdtempSync, rmSync } from 'node:fs';
import { createUsers, localAmqpUrl, startFerretDb, startStack, tokenOf } from '@parley/testing';
import { readProc } from './lib/proc-stats.mjs';

/** Connected recipients per event in the delivery phase. */
const RECIPIENTS = 10;

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** The instance counts to run: `3` → 1, 2, 3; `1,3` → 1 and 3. */
export function instanceCounts(flag) {
  const parts = String(flag)
    .split(',')
    .map((part) => Number(part.trim()));
  if (parts.some((n) => !Number.isInteger(n) || n < 1 || n > 16))
    throw new Error(`--instances: whole numbers 1–16, e.g. 3 or 1,2,4 (got ${flag})`);
  if (parts.length > 1) return parts;
  return Array.from({ length: parts[0] }, (_, i) => i + 1);
}

function cpuMsOf(pids) {
  return pids.reduce((sum, pid) => sum + (readProc(pid)?.cpuMs ?? 0), 0);
}
function rssKiBOf(pids) {
  return pids.reduce((sum, pid) => sum + (readProc(pid)?.rssKiB ?? 0), 0);
}

function newMessageEvent(recipients, n) {
  const now = new Date().toISOString();
  return {
    id: randomUUID(),
    type: 'new_message',
    version: 1,
    occurredAt: now,
    recipients: Array.isArray(recipients) ? recipients : [recipients],
    data: {
      message: {
        id: `bench-${n}`,
        conversationId: 'bench-conversation',
        seq: n + 1,
        sender: { id: 'bench-sender', username: 'bench' },
        text: 'a benchmark message of an ordinary length, about sixty chars',
        reactions: {},
        createdAt: now,
      },
      conversation: { id: 'bench-conversation', kind: 'direct' },
    },
  };
}

/** Publishes `count` events at `rate`/s (0: as fast as confirms allow), in 20 ms batches. */
async function publishPaced(channel, exchange, count, rate, makeEvent) {
  const started = Date.now();
  let sent = 0;
  while (sent < count) {
    const due =
      rate > 0
        ? Math.min(count, Math.floor(((Date.now() - started) / 1000) * rate))
        : Math.min(count, sent + 500);
    for (; sent < due; sent += 1) {
      const event = makeEvent(sent);
      channel.publish(exchange, '', Buffer.from(JSON.stringify(event)), {
        contentType: 'application/json',
        messageId: event.id,
        type: event.type,
        persistent: true,
      });
    }
    await channel.waitForConfirms();
    if (rate > 0) await sleep(20);
  }
  return (Date.now() - started) / 1000;
}

async function measureOne(n, { users, windowSeconds, rate, burst, mongoUrl, amqpUrl, log }) {
  process.env['MONGO_URL'] = mongoUrl;
  process.env['AMQP_URL'] = amqpUrl;
  const stack = await startStack({
    name: `bench-inst${n}`,
    websocketInstances: n,
    // registering the users is setup, not measured: no deadline on a busy machine
    env: {
      LOG_LEVEL: 'warn',
      REQUEST_DEADLINE_MS: '20000',
      // hundreds of users and sockets from one address
      REGISTRATIONS_PER_IP: '1000000',
      MAX_CONNECTIONS_PER_IP: '1000000',
      ACCESS_TOKEN_TTL: '4h',
    },
    // production timings for what idle sockets and presence cost
    serviceEnv: {
      websocket: {
        HEARTBEAT_INTERVAL_MS: '30000',
        PRESENCE_HEARTBEAT_MS: '5000',
        PRESENCE_TIMEOUT_MS: '15000',
      },
    },
    readyTimeoutMs: 60_000,
  });
  const sockets = [];
  const connection = await amqp.connect(amqpUrl.split(',')[0]);
  try {
    const pids = stack.services.websockets.map((ws) => ws.pid);
    const channel = await connection.createConfirmChannel();
    // a spy on the presence exchange: every byte the instances publish there
    const spy = await channel.assertQueue('', { exclusive: true, autoDelete: true });
    await channel.bindQueue(spy.queue, stack.presenceExchange, '');
    const presence = { bytes: 0, messages: 0, byType: {} };
    await channel.consume(
      spy.queue,
      (msg) => {
        if (!msg) return;
        presence.bytes += msg.content.length;
        presence.messages += 1;
        const type = msg.properties.type ?? 'unknown';
        presence.byType[type] = (presence.byType[type] ?? 0) + msg.content.length;
      },
      { noAck: true },
    );

    // baseline: the instances with no socket
    await sleep(2_000);
    const base = { cpuMs: cpuMsOf(pids), rssKiB: rssKiBOf(pids), at: Date.now() };
    await sleep(windowSeconds * 1000);
    const baseCpuPerSecond = (cpuMsOf(pids) - base.cpuMs) / ((Date.now() - base.at) / 1000);

    log(`instances ${n}: registering ${users} users`);
    const people = [];
    for (let i = 0; i < users; i += 10) {
      const batch = Array.from({ length: Math.min(10, users - i) }, (_, j) => `b${i + j}`);
      people.push(...(await createUsers(stack, batch)));
    }
    let delivered = 0;
    for (const [i, person] of people.entries()) {
      const url = new URL('/ws', stack.websocketUrls[i % n].replace(/^http/, 'ws'));
      url.searchParams.set('token', tokenOf(person));
      const ws = new WebSocket(url);
      ws.on('message', (data) => {
        if (String(data).startsWith('{"type":"message"')) delivered += 1;
      });
      await new Promise((resolve, reject) => {
        ws.once('open', resolve);
        ws.once('error', reject);
      });
      sockets.push(ws);
    }
    await sleep(3_000); // presence of the new users settles

    // idle sockets and presence with no change
    presence.bytes = 0;
    presence.messages = 0;
    presence.byType = {};
    const idle = { cpuMs: cpuMsOf(pids), rssKiB: rssKiBOf(pids), at: Date.now() };
    await sleep(windowSeconds * 1000);
    const idleSeconds = (Date.now() - idle.at) / 1000;
    const idleCpuPerSecond = (cpuMsOf(pids) - idle.cpuMs) / idleSeconds;
    const idlePresence = {
      bytesPerSecond: presence.bytes / idleSeconds,
      messagesPerSecond: presence.messages / idleSeconds,
      byType: { ...presence.byType },
    };

    // warm-up (JIT, buffers), not measured: both kinds of event
    await publishPaced(channel, stack.exchange, 1_000, 0, (i) =>
      i % 2 === 0
        ? newMessageEvent(`nobody-${i}`, 3_000_000 + i)
        : newMessageEvent(people[i % people.length].user.id, 3_000_000 + i),
    );
    await sleep(2_000);

    // events with no local recipient anywhere
    const noLocalCount = Math.round(rate * windowSeconds);
    let c0 = cpuMsOf(pids);
    await publishPaced(channel, stack.exchange, noLocalCount, rate, (i) =>
      newMessageEvent(`nobody-${i % 1000}`, i),
    );
    await sleep(1_000);
    const noLocalCpuMs = cpuMsOf(pids) - c0 - baseCpuPerSecond * (windowSeconds + 1);
    const perEventNoLocalUs = (noLocalCpuMs * 1000) / (noLocalCount * n);

    // events with RECIPIENTS connected recipients each (consecutive users: spread over
    // every instance), so the deliveries outweigh the per-event price and show
    const deliveryCount = noLocalCount;
    const expected = deliveryCount * RECIPIENTS;
    delivered = 0;
    c0 = cpuMsOf(pids);
    await publishPaced(channel, stack.exchange, deliveryCount, rate, (i) =>
      newMessageEvent(
        Array.from(
          { length: RECIPIENTS },
          (_, k) => people[(i * RECIPIENTS + k) % people.length].user.id,
        ),
        1_000_000 + i,
      ),
    );
    const deliveredAt = Date.now();
    while (delivered < expected && Date.now() - deliveredAt < 15_000) await sleep(100);
    const deliveryCpuMs = cpuMsOf(pids) - c0 - baseCpuPerSecond * (windowSeconds + 1);
    const deliveredInWindow = delivered;
    const perEventWithDeliveryUs = (deliveryCpuMs * 1000) / (deliveryCount * n);
    const perDeliveryUs =
      (deliveryCpuMs * 1000 - perEventNoLocalUs * deliveryCount * n) /
      Math.max(1, deliveredInWindow);

    // a burst: how many deliveries per second the instances sustain together
    delivered = 0;
    const burstStarted = Date.now();
    await publishPaced(channel, stack.exchange, burst, 0, (i) =>
      newMessageEvent(people[i % people.length].user.id, 2_000_000 + i),
    );
    while (delivered < burst && Date.now() - burstStarted < 120_000) await sleep(50);
    const burstSeconds = (Date.now() - burstStarted) / 1000;

    return {
      instances: n,
      sockets: sockets.length,
      baseCpuPercent: baseCpuPerSecond / 10,
      idle: {
        cpuMsPerSocketPerMinute: ((idleCpuPerSecond - baseCpuPerSecond) * 60) / sockets.length,
        rssKiBPerSocket: (idle.rssKiB - base.rssKiB) / sockets.length,
      },
      presence: {
        ...idlePresence,
        publishedBytesPerSecondPerInstance: idlePresence.bytesPerSecond / n,
        // the fanout hands every instance every message, its own included (ignored)
        receivedBytesPerSecondPerInstance: idlePresence.bytesPerSecond,
      },
      noLocal: { events: noLocalCount, rate, cpuUsPerEventPerInstance: perEventNoLocalUs },
      delivery: {
        events: deliveryCount,
        recipientsPerEvent: RECIPIENTS,
        delivered: deliveredInWindow,
        // all instances' CPU for the phase / (events × instances), and what a delivery
        // adds to the event every instance pays for anyway
        cpuUsPerEventPerInstance: perEventWithDeliveryUs,
        cpuUsPerDelivery: perDeliveryUs,
      },
      burst: {
        events: burst,
        delivered,
        seconds: burstSeconds,
        deliveredPerSecond: delivered / burstSeconds,
      },
    };
  } finally {
    for (const ws of sockets) ws.terminate();
    await connection.close().catch(() => undefined);
    await stack.stop();
  }
}

/**
 * Runs the instances scenario for every count of `flag` and writes
 * `<out>/instances-<time>.json`; resolves the results.
 */
export async function runInstancesScenario({ flag, quick, out, mongoUrl, log = console.log }) {
  const counts = instanceCounts(flag);
  const settings = {
    users: quick ? 100 : 300,
    windowSeconds: quick ? 4 : 8,
    rate: quick ? 300 : 500,
    burst: quick ? 3_000 : 10_000,
  };
  const amqpUrl = process.env['AMQP_URL'] ?? localAmqpUrl;
  const results = {
    startedAt: new Date().toISOString(),
    machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, loadBefore: os.loadavg() },
    settings,
    runs: [],
  };
  for (const n of counts) {
    log(`instances ${n}: starting`);
    const run = await measureOne(n, { ...settings, mongoUrl, amqpUrl, log });
    log(`instances ${n}: ${JSON.stringify(run)}`);
    results.runs.push(run);
  }
  results.machine.loadAfter = os.loadavg();
  mkdirSync(out, { recursive: true });
  const file = path.join(out, `instances-${results.startedAt.replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
  log(`instances: results in ${file}`);
  log(instancesTable(results));
  return results;
}

/** The Markdown table of a run, as bench/RESULTS.md and docs/scaling.md show it. */
export function instancesTable(results) {
  const f = (x, digits = 0) => (Number.isFinite(x) ? x.toFixed(digits) : '–');
  const rows = results.runs.map((r) =>
    [
      r.instances,
      r.sockets,
      f(r.noLocal.cpuUsPerEventPerInstance, 1),
      f(r.delivery.cpuUsPerDelivery, 1),
      f(r.idle.cpuMsPerSocketPerMinute, 2),
      f(r.idle.rssKiBPerSocket, 1),
      f(r.presence.publishedBytesPerSecondPerInstance, 0),
      f(r.presence.receivedBytesPerSecondPerInstance, 0),
      f(r.burst.deliveredPerSecond, 0),
    ].join(' | '),
  );
  return [
    '| ws instances | sockets | CPU µs / event, no local recipient (per instance) | CPU µs / delivery | CPU ms / idle socket / min | RSS KiB / idle socket | presence B/s published per instance | presence B/s received per instance | delivered / s (burst) |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- |',
    ...rows.map((row) => `| ${row} |`),
  ].join('\n');
}

/** run.mjs's hook: `--instances` runs this scenario alone, on FerretDB or --mongo-url. */
export async function runInstancesFromCli(opts, outDir) {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'parley-bench-instances-'));
  const ferret = opts['mongo-url']
    ? { url: opts['mongo-url'].replace(/\/+$/, ''), stop: async () => {} }
    : await startFerretDb({ dataDir: path.join(tmp, 'ferretdb') });
  try {
    await runInstancesScenario({
      flag: opts.instances,
      quick: opts.quick,
      out: outDir,
      mongoUrl: ferret.url,
    });
  } finally {
    await ferret.stop();
    rmSync(tmp, { recursive: true, force: true });
  }
}
