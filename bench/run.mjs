// `pnpm bench`: Parley's message path against the raw pipeline ceiling, in one run.
// Starts everything it measures (FerretDB dev server, Parley's built services, the
// raw pipeline, load-generator processes), runs the scenarios with paced open-loop
// load, and writes bench/results/<date>.json, .md and PNG charts. README.md beside
// this file explains the method; the flags are in options.mjs (`node bench/run.mjs --help`).
import amqp from 'amqplib';
import { MongoClient, ObjectId } from 'mongodb';
import { mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createSign, generateKeyPairSync, randomUUID } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { localAmqpUrl, startFerretDb } from '@parley/testing';
import { summariseProfile } from './cpuprofile-summary.mjs';
import { buildCentrifugo, startCentrifugo } from './lib/centrifugo.mjs';
import { scrapeAll, stepCost } from './lib/cost.mjs';
import { benchHelp, parseBenchArgs } from './options.mjs';
import { createHistogram, merge, summary } from './lib/histogram.mjs';
import {
  findPidsByComm,
  loadAverage,
  openFileLimit,
  readProc,
  startSampler,
} from './lib/proc-stats.mjs';
import { benchRoot, parleyEnv, startRaw, startService } from './lib/stack.mjs';
import { split, startWorkers } from './lib/workers.mjs';
import { writeReport } from './report.mjs';

let opts;
try {
  opts = parseBenchArgs();
} catch (err) {
  console.error(`${err.message}\n(node bench/run.mjs --help lists the flags)`);
  process.exit(2);
}
if (opts.help) {
  console.log(benchHelp());
  process.exit(0);
}
if (opts.instances !== undefined) {
  // the per-instance costs of the websocket tier (bench/instances.mjs), run alone
  const { runInstancesFromCli } = await import('./instances.mjs');
  await runInstancesFromCli(opts, opts.out ?? path.join(benchRoot, 'results'));
  process.exit(0);
}

const quick = opts.quick;
const outDir = opts.out ?? path.join(benchRoot, 'results');
const config = {
  quick,
  scenarios: opts.scenarios.split(','),
  repeats: opts.repeats ?? (quick ? 1 : 3),
  stepMs: (opts['step-seconds'] ?? (quick ? 2 : 4)) * 1000,
  users: opts.users ?? (quick ? 200 : 1000),
  connections: opts.connections ?? (quick ? 1000 : 10000),
  workers: opts.workers,
  bcryptCost: opts['bcrypt-cost'],
  setupBcryptCost: opts['setup-bcrypt-cost'],
  logLevel: opts['log-level'],
  address: opts.address,
  // open-loop ladders: rate_k = start * factor^k until saturated or the cap
  // (raw starts higher: it needs more steps to reach its ceiling)
  chatLadder: { start: 2, rawStart: 50, factor: quick ? 2 : 1.5, max: 20_000 },
  fanoutLadder: { start: 2, rawStart: 5, factor: quick ? 2 : 1.5, max: 2_000 },
  authSeconds: quick ? 3 : 5,
  profileMs: quick ? 4_000 : 10_000,
  // a step is saturated when less than this share of the offered rate arrives in time
  saturationShare: 0.9,
  saturationP99Ms: 1_000,
  // the cost of one message at a fixed rate, spread over this many 1:1 conversations
  fixed: { rate: 100, conversations: 50 },
  peer: opts.peer,
  // the peer scenario's room: this many websocket clients on one instance
  peerClients: 200,
};
if (config.users % (2 * config.workers) !== 0)
  throw new Error('--users must be a multiple of 2 × --workers (pairs stay in one worker)');

const nowMs = () => Number(process.hrtime.bigint()) / 1e6;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const log = (line) => console.log(`[bench ${new Date().toISOString().slice(11, 19)}] ${line}`);
const median = (values) => {
  const sorted = values.filter((v) => v !== null && v !== undefined).sort((a, b) => a - b);
  if (sorted.length === 0) return null;
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};
const round = (v, digits = 1) => (v === null ? null : Math.round(v * 10 ** digits) / 10 ** digits);

const runId = Date.now().toString(36);
const stamp = new Date().toISOString().slice(0, 16).replace(':', '-').replace('T', '_');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'parley-bench-'));
const logDir = path.join(tmp, 'logs');
mkdirSync(logDir);
const started = Date.now();
const cleanups = [];

const results = {
  runId,
  startedAt: new Date().toISOString(),
  machine: {
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model,
    memoryGiB: round(os.totalmem() / 2 ** 30),
    node: process.version,
    loadAverageAtStart: loadAverage(),
  },
  config,
  notes: [],
  scenarios: {},
};

// ---------------------------------------------------------------- infrastructure

const amqpUrl = process.env.AMQP_URL ?? localAmqpUrl;
const exchange = `bench.${runId}.events`;
const rawExchange = `bench.${runId}.raw`;

log(`run ${runId}: temp dir ${tmp}`);
const ferret = opts['mongo-url']
  ? { url: opts['mongo-url'].replace(/\/+$/, ''), pid: undefined, stop: async () => {} }
  : await startFerretDb({ dataDir: path.join(tmp, 'ferretdb') });
cleanups.push(() => ferret.stop());
const mongoBase = ferret.url;
results.database = opts['mongo-url'] ? 'MongoDB at --mongo-url' : 'FerretDB dev server';
log(`${results.database} at ${mongoBase}${ferret.pid ? ` (pid ${ferret.pid})` : ''}`);

// auth signs with a key the bench generates, so the bench can mint valid tokens for
// the idle-socket users (see mintUsers)
const signingKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
const signingKeyPem = signingKey.export({ type: 'pkcs8', format: 'pem' });

/** The services' env for this run; auth's and chat's URLs once they are started. */
function benchEnv({ authUrl = 'http://unused', chatUrl = 'http://unused' } = {}) {
  return parleyEnv({
    mongoUrl: `${mongoBase}/parley_bench`,
    amqpUrl,
    exchange,
    authUrl,
    chatUrl,
    logLevel: config.logLevel,
  });
}

let auth;
let chat;
let websocket;
let parleyUrls;
async function startParley({ nodeArgs = [] } = {}) {
  const authEnv = benchEnv();
  if (!auth) {
    auth = await startService('auth', {
      env: {
        ...authEnv,
        BCRYPT_COST: String(config.setupBcryptCost),
        JWT_PRIVATE_KEY: signingKeyPem,
      },
      logDir,
    });
    cleanups.push(() => auth.stop());
  }
  const env = benchEnv({ authUrl: auth.url });
  chat = await startService('chat', { env, logDir, nodeArgs });
  websocket = await startService('websocket', {
    env: { ...env, CHAT_URL: chat.url },
    logDir,
    nodeArgs,
  });
  parleyUrls = { auth: auth.url, chat: chat.url, ws: websocket.url.replace('http', 'ws') };
  log(`parley: auth ${auth.pid}, chat ${chat.pid}, websocket ${websocket.pid}`);
}
async function stopParleyMessagePath() {
  await Promise.all([chat?.stop(), websocket?.stop()]);
}
cleanups.push(() => stopParleyMessagePath());

await startParley();
const rawHttp = await startRaw('raw-http.mjs', {
  env: { MONGO_URL: `${mongoBase}/raw_bench`, AMQP_URL: amqpUrl, EXCHANGE: rawExchange },
  logDir,
});
cleanups.push(() => rawHttp.stop());
const rawWs = await startRaw('raw-ws.mjs', {
  env: { AMQP_URL: amqpUrl, EXCHANGE: rawExchange },
  logDir,
});
cleanups.push(() => rawWs.stop());
log(`raw pipeline: http ${rawHttp.pid}, ws ${rawWs.pid}`);

const workers = startWorkers(config.workers, logDir);
cleanups.push(() => Promise.all(workers.map((worker) => worker.stop())));
const rabbitPid = findPidsByComm('beam.smp')[0];

function processPids(extra = {}) {
  return {
    chat: chat.pid,
    websocket: websocket.pid,
    auth: auth.pid,
    'raw-http': rawHttp.pid,
    'raw-ws': rawWs.pid,
    ...(ferret.pid ? { ferretdb: ferret.pid } : {}),
    ...(rabbitPid ? { rabbitmq: rabbitPid } : {}),
    ...Object.fromEntries(workers.map((worker) => [`load-${worker.index}`, worker.pid])),
    ...extra,
  };
}

async function cleanup() {
  for (const fn of cleanups.reverse()) await fn()?.catch?.(() => {});
  try {
    const connection = await amqp.connect(amqpUrl);
    const channel = await connection.createChannel();
    // the services' consumers also declare `<exchange>.dlx` and its dead-letter queue
    await channel.deleteQueue(`${exchange}.dead-letter`);
    await channel.deleteExchange(`${exchange}.dlx`);
    await channel.deleteExchange(exchange);
    await channel.deleteExchange(rawExchange);
    await connection.close();
  } catch {
    // best effort: a leftover exchange is harmless (unique name)
  }
}
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    log(`${signal}: stopping everything`);
    void cleanup().then(() => process.exit(130));
  });
}

// ---------------------------------------------------------------- users

async function createUsers(count, prefix) {
  const usernames = Array.from({ length: count }, (_, i) => `${prefix}${i}`);
  const begun = nowMs();
  const parts = await Promise.all(
    split(usernames, workers.length).map((slice, i) =>
      workers[i].call('createUsers', {
        authUrl: auth.url,
        usernames: slice,
        password: 'bench password 1234',
        concurrency: 4,
      }),
    ),
  );
  const users = parts.flatMap((part) => part.users);
  const failed = parts.reduce((sum, part) => sum + part.failed, 0);
  if (failed)
    throw new Error(`creating users: ${failed} failed, e.g. ${parts.flatMap((p) => p.errors)[0]}`);
  const seconds = (nowMs() - begun) / 1000;
  log(
    `created ${users.length} users in ${seconds.toFixed(1)}s (bcrypt cost ${config.setupBcryptCost})`,
  );
  return { users, seconds };
}

const b64url = (value) => Buffer.from(value).toString('base64url');

/**
 * Access tokens for `count` more users, signed with auth's own key and carrying the
 * claims auth puts in its tokens (copied from a real one). The websocket verifies them
 * exactly like tokens from /auth/login. Registering 10,000 users instead would take
 * minutes here and grow the users collection, which the dev database scans on every
 * lookup by name (slowing every later scenario).
 */
function mintUsers(count, template) {
  const [headerPart, payloadPart] = template.token.split('.');
  const claims = JSON.parse(Buffer.from(payloadPart, 'base64url').toString());
  const users = [];
  for (let i = 0; i < count; i += 1) {
    const id = randomUUID().replace(/-/g, '').slice(0, 24);
    const username = `b${runId}m${i}`;
    const payload = b64url(JSON.stringify({ ...claims, sub: id, username, jti: randomUUID() }));
    const signature = createSign('RSA-SHA256')
      .update(`${headerPart}.${payload}`)
      .sign(signingKey)
      .toString('base64url');
    users.push({ id, username, token: `${headerPart}.${payload}.${signature}`, minted: true });
  }
  return users;
}

const needsConnections = config.scenarios.includes('connections');
const needsPeer = config.peer !== undefined || config.scenarios.includes('peer');
const needsUsers =
  needsPeer || ['chat', 'fanout', 'profile'].some((s) => config.scenarios.includes(s));
let setup;
let chatUsers;
async function prepareUsers() {
  setup = await createUsers(needsUsers ? config.users : 2, `b${runId}u`);
  if (needsConnections && config.connections > setup.users.length) {
    setup.users.push(...mintUsers(config.connections - setup.users.length, setup.users[0]));
  }
  results.setup = {
    registeredUsers: needsUsers ? config.users : 2,
    mintedTokens: setup.users.filter((u) => u.minted).length,
    seconds: round(setup.seconds),
    bcryptCost: config.setupBcryptCost,
  };
  chatUsers = setup.users.slice(0, config.users);
  if (config.scenarios.includes('fanout')) await createRoom();
}

/**
 * The fan-out room, joined by every user before any socket is open: each join
 * announces the whole member list to every connected member (conversation_updated),
 * so 1,000 joins with 1,000 sockets open would push about n²/2 member entries.
 */
async function createRoom() {
  const begun = nowMs();
  room = await createRoomOf(chatUsers);
  results.setup.roomSeconds = round((nowMs() - begun) / 1000);
  log(`room of ${chatUsers.length} members created in ${results.setup.roomSeconds} s`);
}

/** A public room owned by the first of `members` and joined by the others (no socket open). */
async function createRoomOf(members) {
  const [owner, ...others] = members;
  const created = await workers[0].call('createRoom', {
    chatUrl: parleyUrls.chat,
    owner,
    members: others,
    // joins rewrite one document; concurrent ones conflict and retry
    concurrency: 1,
  });
  return { ...created, senderToken: owner.token };
}

async function connectGroup(group, kind, baseUrl, users, concurrency = 32) {
  const parts = await Promise.all(
    split(users, workers.length, 2).map((slice, i) =>
      workers[i].call('connect', { group, kind, baseUrl, users: slice, concurrency }),
    ),
  );
  const connected = parts.reduce((sum, part) => sum + part.connected, 0);
  const failed = parts.reduce((sum, part) => sum + part.failed, 0);
  const handshake = parts.reduce((hist, part) => merge(hist, part.handshake), createHistogram());
  return {
    connected,
    failed,
    errors: parts.flatMap((part) => part.errors).slice(0, 5),
    elapsedMs: Math.max(...parts.map((part) => part.elapsedMs)),
    handshake,
  };
}
const disconnectGroup = (group) => Promise.all(workers.map((w) => w.call('disconnect', { group })));

// ---------------------------------------------------------------- one paced step

/** Which process stores and which pushes, for the cost of a step of each mode. */
const COST_SIDES = {
  rest: { store: 'chat', push: 'websocket' },
  ws: { store: 'chat', push: 'websocket' },
  room: { store: 'chat', push: 'websocket' },
  raw: { store: 'raw-http', push: 'raw-ws' },
  broadcast: { store: 'raw-http', push: 'raw-ws' },
};

/** Every process's /metrics (Parley's on their METRICS_PORT, the raw pipeline's on its port). */
function metricsUrls() {
  return {
    chat: `${chat.metricsUrl}/metrics`,
    websocket: `${websocket.metricsUrl}/metrics`,
    'raw-http': `${rawHttp.url}/metrics`,
    'raw-ws': `${rawWs.url}/metrics`,
  };
}

/**
 * Runs one step at `rate` messages/s for config.stepMs and measures it.
 * mode: rest | ws | raw (1:1, every worker sends for its own pairs), room | broadcast
 * (one sender in worker 0, every worker's sockets receive).
 */
async function runStep({
  mode,
  group,
  rate,
  url,
  extra: more = {},
  durationMs = config.stepMs,
  pids = {},
}) {
  const extra = { address: config.address, ...more };
  const oneSender = mode === 'room' || mode === 'broadcast' || mode === 'peer';
  const tag = `${runId}s${(runStep.count = (runStep.count ?? 0) + 1)}`;
  const counters = await scrapeAll(metricsUrls());
  const startAt = nowMs() + 300;
  const sampler = startSampler(processPids(pids));
  const sends = await Promise.all(
    workers.map((worker) =>
      worker.call('runStep', {
        mode,
        group,
        rate,
        url,
        tag,
        startAt,
        durationMs,
        sender: oneSender ? worker.index === 0 : true,
        senderIndex: oneSender ? 0 : worker.index,
        senders: oneSender ? 1 : workers.length,
        ...extra,
      }),
    ),
  );
  const okAll = oneSender ? sends[0].ok : undefined;
  const collected = await Promise.all(
    workers.map((worker) => worker.call('collect', { okAll, stallMs: 3_000, maxMs: 30_000 })),
  );
  const processes = sampler.stop();

  const sum = (list, key) => list.reduce((total, item) => total + (item[key] ?? 0), 0);
  const latency = collected.reduce((hist, c) => merge(hist, c.latency), createHistogram());
  const response = sends.reduce(
    (hist, s) => (s.response ? merge(hist, s.response) : hist),
    createHistogram(),
  );
  const delivered = sum(collected, 'delivered');
  const lastDelivery = Math.max(...collected.map((c) => c.lastDeliveryAt));
  const windowSeconds = durationMs / 1000;
  const result = {
    mode,
    offeredRate: rate,
    sent: sum(sends, 'sends'),
    accepted: sends.reduce((n, s) => n + (s.ok?.length ?? 0), 0),
    errors: sum(sends, 'errors'),
    errorSamples: [...new Set(sends.flatMap((s) => s.errorSamples ?? []))],
    lateStarts: sum(sends, 'lateStarts'),
    expected: sum(collected, 'expected'),
    delivered,
    lost: sum(collected, 'lost'),
    duplicated: sum(collected, 'duplicates'),
    strays: sum(collected, 'strays'),
    unexpectedCloses: collected.flatMap((c) => c.unexpectedCloses),
    // deliveries that arrived inside the send window, per second of the window
    deliveredRate: round(sum(collected, 'deliveredInWindow') / windowSeconds),
    // all deliveries over the time until the last one: the drain rate once overloaded
    sustainedRate: round(
      lastDelivery > startAt ? (delivered * 1000) / (lastDelivery - startAt) : 0,
    ),
    latencyMs: summary(latency),
    responseMs: summary(response),
    processes,
  };
  const deliveriesPerMessage = oneSender ? result.expected / Math.max(1, result.accepted) : 1;
  result.deliveriesPerMessage = round(deliveriesPerMessage);
  const sides = COST_SIDES[mode];
  if (sides) {
    await sleep(300); // the websocket's batched acks go out within a short window
    result.cost = stepCost({
      before: counters,
      after: await scrapeAll(metricsUrls()),
      sides,
      messages: result.accepted,
      deliveries: delivered,
      processes,
    });
  }
  const inTime = result.deliveredRate / (rate * deliveriesPerMessage);
  result.saturated =
    inTime < config.saturationShare ||
    (result.latencyMs.p99 ?? Infinity) > config.saturationP99Ms ||
    result.errors > 0.01 * result.sent;
  log(
    `${mode.padEnd(9)} ${String(rate).padStart(7)}/s → delivered ${result.deliveredRate}/s ` +
      `(sustained ${result.sustainedRate}/s) p50 ${result.latencyMs.p50} p99 ${result.latencyMs.p99} ` +
      `max ${result.latencyMs.max} ms, errors ${result.errors}, lost ${result.lost}, dup ${result.duplicated}` +
      `${result.saturated ? ' [saturated]' : ''}` +
      (result.cost
        ? `; per send: ${result.cost.mongoCommandsPerSend ?? 'n/a'} db cmds, ` +
          `${result.cost.amqpAcksPerEvent ?? 'n/a'} acks, ${result.cost.storeCpuUsPerSend} µs store CPU, ` +
          `${result.cost.pushCpuUsPerDelivery} µs push CPU/delivery`
        : ''),
  );
  await sleep(500);
  return result;
}

/** Steps up the rate until a step saturates; returns every step and the saturated rate. */
async function ladder({ mode, group, url, extra, start, factor, max, pids }) {
  const steps = [];
  for (let rate = start; rate <= max; rate = Math.round(rate * factor * 10) / 10) {
    const step = await runStep({ mode, group, rate, url, extra, pids });
    steps.push(step);
    if (step.saturated) break;
  }
  // the drain rate of an overloaded step, but never more than was offered
  const saturatedRate = Math.max(
    ...steps.map((s) =>
      Math.min(s.sustainedRate, s.offeredRate * (s.deliveriesPerMessage || 1) * 1.05),
    ),
  );
  const lastClean = steps.filter((s) => !s.saturated).at(-1)?.offeredRate ?? null;
  return { mode, steps, saturatedRate: round(saturatedRate), lastCleanRate: lastClean };
}

// ---------------------------------------------------------------- scenarios

async function scenarioChat() {
  log(`scenario 1: 1:1 chat, ${config.users} users in ${config.users / 2} pairs`);
  const parleyConn = await connectGroup('parley', 'parley', parleyUrls.ws, chatUsers);
  const rawConn = await connectGroup('raw', 'raw', rawWs.url.replace('http', 'ws'), chatUsers);
  if (parleyConn.failed || rawConn.failed)
    throw new Error(`connect failed: ${[...parleyConn.errors, ...rawConn.errors].join('; ')}`);
  const targets = [
    { key: 'raw', mode: 'raw', group: 'raw', url: rawHttp.url, raw: true },
    { key: 'rest', mode: 'rest', group: 'parley', url: parleyUrls.chat },
    { key: 'ws', mode: 'ws', group: 'parley', url: parleyUrls.chat },
  ];
  // not measured: every pair has written once, so the conversations exist, as between
  // users who already talk
  log('warm-up: one REST send per pair');
  const warmBegun = nowMs();
  const warm = await Promise.all(
    workers.map((w) =>
      w.call('warmPairs', { group: 'parley', chatUrl: parleyUrls.chat, concurrency: 2 }),
    ),
  );
  const warmFailed = warm.reduce((sum, part) => sum + part.failed, 0);
  if (warmFailed) throw new Error(`warm-up: ${warmFailed} sends failed`);
  log(`warm-up took ${((nowMs() - warmBegun) / 1000).toFixed(1)} s`);
  await sleep(1_000);
  const repeats = [];
  let previous = {};
  for (let r = 0; r < config.repeats; r += 1) {
    log(`scenario 1, repeat ${r + 1}/${config.repeats}`);
    const repeat = { ladders: {}, halfRate: {} };
    for (const target of targets) {
      const { factor, max } = config.chatLadder;
      const start = target.raw ? config.chatLadder.rawStart : config.chatLadder.start;
      // later repeats start a few steps below the previous repeat's saturation
      const from = previous[target.key]
        ? Math.max(start, round(previous[target.key] * 0.35, 0))
        : start;
      repeat.ladders[target.key] = await ladder({ ...target, start: from, factor, max });
      previous[target.key] = repeat.ladders[target.key].saturatedRate;
    }
    // the latency target: at half of Parley's saturation, Parley vs raw at that same rate
    for (const key of ['rest', 'ws']) {
      const rate = Math.max(1, Math.round(repeat.ladders[key].saturatedRate / 2));
      const target = targets.find((t) => t.key === key);
      repeat.halfRate[key] = {
        rate,
        parley: await runStep({ mode: target.mode, group: 'parley', rate, url: target.url }),
        raw: await runStep({ mode: 'raw', group: 'raw', rate, url: rawHttp.url }),
      };
    }
    // the cost of a message at a fixed rate, below every target's saturation
    const { rate, conversations } = config.fixed;
    if (config.users >= 2 * conversations) {
      repeat.fixed = {};
      for (const target of targets) {
        repeat.fixed[target.key] = await runStep({
          mode: target.mode,
          group: target.group,
          rate,
          url: target.url,
          extra: { pairs: Math.ceil(conversations / workers.length) },
        });
      }
    }
    repeats.push(repeat);
  }
  await disconnectGroup('raw');
  return {
    users: config.users,
    connect: { parley: stripHist(parleyConn), raw: stripHist(rawConn) },
    repeats,
    summary: summariseChat(repeats),
  };
}

function stripHist(conn) {
  return { ...conn, handshake: summary(conn.handshake) };
}

function summariseChat(repeats) {
  const sat = (key) => median(repeats.map((r) => r.ladders[key].saturatedRate));
  const raw = sat('raw');
  const out = { rawSaturatedRate: raw };
  for (const key of ['rest', 'ws']) {
    const parley = sat(key);
    const p99Parley = median(repeats.map((r) => r.halfRate[key].parley.latencyMs.p99));
    const p99Raw = median(repeats.map((r) => r.halfRate[key].raw.latencyMs.p99));
    const p50Parley = median(repeats.map((r) => r.halfRate[key].parley.latencyMs.p50));
    const p50Raw = median(repeats.map((r) => r.halfRate[key].raw.latencyMs.p50));
    out[key] = {
      saturatedRate: parley,
      ratioToRaw: raw ? round(parley / raw, 3) : null,
      targetRatio: 0.6,
      rateMet: raw ? parley / raw >= 0.6 : false,
      halfRate: median(repeats.map((r) => r.halfRate[key].rate)),
      halfRateP50: p50Parley,
      halfRateRawP50: p50Raw,
      halfRateP99: p99Parley,
      halfRateRawP99: p99Raw,
      p99Ratio: p99Raw ? round(p99Parley / p99Raw, 2) : null,
      latencyMet: p99Raw ? p99Parley <= 2 * p99Raw : false,
    };
  }
  const steps = repeats.flatMap((r) => [
    ...Object.values(r.ladders).flatMap((l) => l.steps),
    ...Object.values(r.halfRate).flatMap((h) => [h.parley, h.raw]),
  ]);
  steps.push(...repeats.flatMap((r) => Object.values(r.fixed ?? {})));
  out.lost = steps.reduce((n, s) => n + s.lost, 0);
  out.duplicated = steps.reduce((n, s) => n + s.duplicated, 0);
  out.cost = {};
  for (const key of ['raw', 'rest', 'ws']) {
    out.cost[key] = {
      fixed: medianCost(repeats.map((r) => r.fixed?.[key]?.cost)),
      saturated: medianCost(repeats.map((r) => r.ladders[key].steps.at(-1)?.cost)),
    };
  }
  return out;
}

/** Field by field, the median of the repeats' step costs (the breakdown of the first). */
function medianCost(costs) {
  const present = costs.filter(Boolean);
  if (present.length === 0) return null;
  const out = { mongoByCommand: present[0].mongoByCommand };
  for (const field of Object.keys(present[0])) {
    if (field !== 'mongoByCommand') out[field] = median(present.map((c) => c[field]));
  }
  return out;
}

let room; // the fan-out room, reused by the profile

async function scenarioFanout() {
  log(`scenario 2: room fan-out to ${config.users} members, one sender`);
  const { conversationId } = room;
  const [owner] = chatUsers;
  if ((await workers[0].call('socketCount', { group: 'parley' })).sockets === 0)
    await connectGroup('parley', 'parley', parleyUrls.ws, chatUsers);
  const rawConn = await connectGroup('raw', 'raw', rawWs.url.replace('http', 'ws'), chatUsers);
  if (rawConn.failed) throw new Error(`raw connect failed: ${rawConn.errors.join('; ')}`);
  const repeats = [];
  const previous = {};
  for (let r = 0; r < config.repeats; r += 1) {
    log(`scenario 2, repeat ${r + 1}/${config.repeats}`);
    const repeat = {};
    for (const target of [
      { key: 'broadcast', mode: 'broadcast', group: 'raw', url: rawWs.url, raw: true },
      {
        key: 'room',
        mode: 'room',
        group: 'parley',
        url: parleyUrls.chat,
        extra: { conversationId, senderToken: owner.token },
      },
    ]) {
      const { factor, max } = config.fanoutLadder;
      const start = target.raw ? config.fanoutLadder.rawStart : config.fanoutLadder.start;
      const from = previous[target.key]
        ? Math.max(start, round(previous[target.key] * 0.35, 1))
        : start;
      const result = await ladder({ ...target, start: from, factor, max });
      // in deliveries/s: every accepted message goes to every member socket
      for (const step of result.steps) step.deliveriesPerSecond = step.sustainedRate;
      result.saturatedDeliveries = result.saturatedRate;
      previous[target.key] = Math.max(
        ...result.steps.map((s) => s.accepted / (config.stepMs / 1000)),
      );
      repeat[target.key] = result;
    }
    repeats.push(repeat);
  }
  await disconnectGroup('raw');
  const roomMedian = median(repeats.map((r) => r.room.saturatedDeliveries));
  const broadcast = median(repeats.map((r) => r.broadcast.saturatedDeliveries));
  const steps = repeats.flatMap((r) => [...r.room.steps, ...r.broadcast.steps]);
  return {
    members: config.users,
    repeats,
    summary: {
      roomDeliveriesPerSecond: roomMedian,
      broadcastDeliveriesPerSecond: broadcast,
      ratio: broadcast ? round(roomMedian / broadcast, 3) : null,
      targetRatio: 0.6,
      met: broadcast ? roomMedian / broadcast >= 0.6 : false,
      lost: steps.reduce((n, s) => n + s.lost, 0),
      duplicated: steps.reduce((n, s) => n + s.duplicated, 0),
      // per delivery at the lowest step and at saturation
      cost: {
        room: {
          low: medianCost(repeats.map((r) => r.room.steps[0]?.cost)),
          saturated: medianCost(repeats.map((r) => r.room.steps.at(-1)?.cost)),
        },
        broadcast: {
          low: medianCost(repeats.map((r) => r.broadcast.steps[0]?.cost)),
          saturated: medianCost(repeats.map((r) => r.broadcast.steps.at(-1)?.cost)),
        },
      },
    },
  };
}

const lastClean = (ladderResult) => ladderResult.steps.filter((s) => !s.saturated).at(-1);

/**
 * `--peer centrifugo`: room fan-out to config.peerClients websocket clients on one
 * instance, Parley (one room, one websocket instance) against Centrifugo (one channel,
 * published through its server API), stepped up side by side in the same run.
 */
async function scenarioPeer() {
  const built = await buildCentrifugo(log);
  if (built.skipped) {
    log(built.skipped);
    results.notes.push(built.skipped);
    return { skipped: built.skipped };
  }
  const clients = config.peerClients;
  log(`peer: ${built.version}; room fan-out to ${clients} clients, Parley vs Centrifugo`);
  const members = chatUsers.slice(0, clients);
  if (members.length < clients) throw new Error(`--peer needs --users ≥ ${clients}`);
  // only the room's members are connected to the websocket instance, as on the peer
  await disconnectGroup('parley');
  const peerRoom = room && config.users === clients ? room : await createRoomOf(members);
  const peer = await startCentrifugo({
    binary: built.binary,
    dir: path.join(tmp, 'centrifugo'),
    logDir,
  });
  cleanups.push(() => peer.stop());
  try {
    const channel = 'room';
    const parleyConn = await connectGroup('peer-parley', 'parley', parleyUrls.ws, members);
    const peerConn = await connectGroup(
      'peer-centrifugo',
      'centrifugo',
      peer.wsUrl,
      members.map((user) => ({ ...user, token: peer.token(user.id), channel })),
    );
    if (parleyConn.failed || peerConn.failed)
      throw new Error(
        `peer connect failed: ${[...parleyConn.errors, ...peerConn.errors].join('; ')}`,
      );
    const repeats = [];
    for (let r = 0; r < config.repeats; r += 1) {
      log(`peer, repeat ${r + 1}/${config.repeats}`);
      const { factor, max } = config.fanoutLadder;
      const repeat = {
        parley: await ladder({
          mode: 'room',
          group: 'peer-parley',
          url: parleyUrls.chat,
          extra: { conversationId: peerRoom.conversationId, senderToken: peerRoom.senderToken },
          start: 5,
          factor,
          max,
        }),
        centrifugo: await ladder({
          mode: 'peer',
          group: 'peer-centrifugo',
          url: peer.url,
          extra: { apiKey: peer.apiKey, channel },
          pids: { centrifugo: peer.pid },
          start: 5,
          factor,
          max,
        }),
      };
      for (const [key, proc] of [
        ['parley', 'websocket'],
        ['centrifugo', 'centrifugo'],
      ]) {
        for (const step of repeat[key].steps)
          step.pushCpuUsPerDelivery = round(
            ((step.processes[proc]?.cpuMs ?? 0) * 1000) / Math.max(1, step.delivered),
            1,
          );
      }
      repeats.push(repeat);
    }
    const sat = (key) => median(repeats.map((r) => r[key].saturatedRate));
    const parley = sat('parley');
    const centrifugo = sat('centrifugo');
    const steps = repeats.flatMap((r) => [...r.parley.steps, ...r.centrifugo.steps]);
    return {
      peer: 'centrifugo',
      version: built.version,
      clients,
      repeats,
      summary: {
        version: built.version,
        clients,
        parleyDeliveriesPerSecond: parley,
        peerDeliveriesPerSecond: centrifugo,
        ratio: centrifugo ? round(parley / centrifugo, 3) : null,
        targetRatio: 0.5,
        met: centrifugo ? parley / centrifugo >= 0.5 : false,
        parleyLastCleanRate: median(repeats.map((r) => r.parley.lastCleanRate)),
        peerLastCleanRate: median(repeats.map((r) => r.centrifugo.lastCleanRate)),
        // at the last clean step: the most deliveries before saturation (CPU is read in
        // 10 ms ticks, too coarse for the first steps)
        parleyCpuUsPerDelivery: median(
          repeats.map((r) => lastClean(r.parley)?.pushCpuUsPerDelivery),
        ),
        peerCpuUsPerDelivery: median(
          repeats.map((r) => lastClean(r.centrifugo)?.pushCpuUsPerDelivery),
        ),
        lost: steps.reduce((n, s) => n + s.lost, 0),
        duplicated: steps.reduce((n, s) => n + s.duplicated, 0),
      },
    };
  } finally {
    await disconnectGroup('peer-parley');
    await disconnectGroup('peer-centrifugo');
    await peer.stop();
  }
}

/** Idle sockets against a fresh server process: RSS delta per socket, connect rate, CPU per handshake. */
async function measureConnections(kind, users) {
  const server =
    kind === 'parley'
      ? await startService('websocket', {
          env: benchEnv({ authUrl: auth.url, chatUrl: chat.url }),
          logDir,
        })
      : await startRaw('raw-ws.mjs', { env: {}, logDir });
  try {
    await sleep(2_000);
    const before = readProc(server.pid);
    const sampler = startSampler({ server: server.pid, ...processPids() });
    const conn = await connectGroup(
      `idle-${kind}`,
      kind,
      server.url.replace('http', 'ws'),
      users,
      64,
    );
    const during = sampler.stop();
    await sleep(3_000);
    const after = readProc(server.pid);
    await disconnectGroup(`idle-${kind}`);
    const rssDeltaKiB = after.rssKiB - before.rssKiB;
    const result = {
      kind,
      serverOpenFileLimit: openFileLimit(server.pid),
      loadOpenFileLimits: workers.map((worker) => openFileLimit(worker.pid)),
      connected: conn.connected,
      failed: conn.failed,
      errors: conn.errors,
      connectSeconds: round(conn.elapsedMs / 1000, 2),
      connectRate: round(conn.connected / (conn.elapsedMs / 1000)),
      handshakeMs: summary(conn.handshake),
      serverCpuMsPerConnection: round(during.server.cpuMs / Math.max(1, conn.connected), 3),
      rssBeforeMiB: round(before.rssKiB / 1024),
      rssAfterMiB: round(after.rssKiB / 1024),
      rssPerConnectionKiB: round(rssDeltaKiB / Math.max(1, conn.connected), 2),
      processes: during,
    };
    log(
      `${kind} idle sockets: ${result.connected} connected (${result.failed} failed) in ${result.connectSeconds}s ` +
        `(${result.connectRate}/s), ${result.rssPerConnectionKiB} KiB/socket, ` +
        `${result.serverCpuMsPerConnection} ms CPU/handshake`,
    );
    return result;
  } finally {
    await server.stop();
  }
}

async function scenarioConnections() {
  log(`scenario 3: ${config.connections} idle authenticated sockets`);
  const users = setup.users.slice(0, config.connections);
  const repeats = [];
  for (let r = 0; r < config.repeats; r += 1) {
    log(`scenario 3, repeat ${r + 1}/${config.repeats}`);
    repeats.push({
      raw: await measureConnections('raw', users),
      parley: await measureConnections('parley', users),
    });
  }
  const perConn = median(repeats.map((r) => r.parley.rssPerConnectionKiB));
  const rawPerConn = median(repeats.map((r) => r.raw.rssPerConnectionKiB));
  return {
    connections: config.connections,
    repeats,
    summary: {
      rssPerConnectionKiB: perConn,
      rawRssPerConnectionKiB: rawPerConn,
      ratio: rawPerConn ? round(perConn / rawPerConn, 2) : null,
      targetKiB: 8,
      met: perConn !== null && perConn <= 8,
      connectRate: median(repeats.map((r) => r.parley.connectRate)),
      rawConnectRate: median(repeats.map((r) => r.raw.connectRate)),
      cpuMsPerHandshake: median(repeats.map((r) => r.parley.serverCpuMsPerConnection)),
      rawCpuMsPerHandshake: median(repeats.map((r) => r.raw.serverCpuMsPerConnection)),
      handshakeP50Ms: median(repeats.map((r) => r.parley.handshakeMs.p50)),
      handshakeP99Ms: median(repeats.map((r) => r.parley.handshakeMs.p99)),
      failed: repeats.reduce((n, r) => n + r.parley.failed + r.raw.failed, 0),
    },
  };
}

async function scenarioAuth() {
  log(`scenario 4: login and /auth/me at bcrypt cost ${config.bcryptCost}`);
  const costly = await startService('auth', {
    env: {
      ...benchEnv(),
      BCRYPT_COST: String(config.bcryptCost),
    },
    logDir,
  });
  try {
    const username = `b${runId}login`;
    const password = 'bench password 1234';
    const created = await workers[0].call('createUsers', {
      authUrl: costly.url,
      usernames: [username],
      password,
      concurrency: 1,
    });
    if (created.failed) throw new Error(`login user: ${created.errors[0]}`);
    const token = created.users[0].token;
    const cases = [
      {
        key: 'login',
        path: '/auth/login',
        method: 'POST',
        body: { username, password },
        // one per core: bcrypt is CPU-bound, more callers only queue past auth's
        // request deadline (REQUEST_DEADLINE_MS, 1.5 s: 503) without adding throughput
        concurrency: 2,
      },
      { key: 'me', path: '/auth/me', method: 'GET', token, concurrency: 16 },
    ];
    const repeats = [];
    for (let r = 0; r < config.repeats; r += 1) {
      const repeat = {};
      for (const c of cases) {
        const sampler = startSampler({
          auth: costly.pid,
          ...(ferret.pid ? { ferretdb: ferret.pid } : {}),
          ...workerPids(),
        });
        const parts = await Promise.all(
          workers.map((worker) =>
            worker.call('authThroughput', {
              url: costly.url,
              ...c,
              seconds: config.authSeconds,
              concurrency: Math.max(1, Math.round(c.concurrency / workers.length)),
            }),
          ),
        );
        const processes = sampler.stop();
        const count = parts.reduce((n, p) => n + p.count, 0);
        const seconds = Math.max(...parts.map((p) => p.elapsedMs)) / 1000;
        const latency = parts.reduce((h, p) => merge(h, p.latency), createHistogram());
        repeat[c.key] = {
          requestsPerSecond: round(count / seconds),
          count,
          errors: parts.reduce((n, p) => n + p.errors, 0),
          errorSamples: parts.flatMap((p) => p.errorSamples),
          concurrency: c.concurrency,
          latencyMs: summary(latency),
          processes,
        };
        log(
          `${c.key}: ${repeat[c.key].requestsPerSecond}/s p50 ${repeat[c.key].latencyMs.p50} ` +
            `p99 ${repeat[c.key].latencyMs.p99} ms, errors ${repeat[c.key].errors}`,
        );
      }
      repeats.push(repeat);
    }
    return {
      bcryptCost: config.bcryptCost,
      repeats,
      summary: {
        loginPerSecond: median(repeats.map((r) => r.login.requestsPerSecond)),
        loginP50Ms: median(repeats.map((r) => r.login.latencyMs.p50)),
        loginP99Ms: median(repeats.map((r) => r.login.latencyMs.p99)),
        mePerSecond: median(repeats.map((r) => r.me.requestsPerSecond)),
        meP50Ms: median(repeats.map((r) => r.me.latencyMs.p50)),
        meP99Ms: median(repeats.map((r) => r.me.latencyMs.p99)),
        errors: repeats.reduce((n, r) => n + r.login.errors + r.me.errors, 0),
      },
    };
  } finally {
    await costly.stop();
  }
}

function workerPids() {
  return Object.fromEntries(workers.map((worker) => [`load-${worker.index}`, worker.pid]));
}

/** chat and websocket restarted under --cpu-prof, one REST step at Parley's saturation. */
async function scenarioProfile(rate) {
  log(`profile: chat and websocket under --cpu-prof at ${rate} msg/s (REST 1:1)`);
  const profileDir = path.join(tmp, 'profiles');
  mkdirSync(profileDir, { recursive: true });
  await disconnectGroup('parley');
  await stopParleyMessagePath();
  const dirs = {
    chat: path.join(profileDir, 'chat'),
    websocket: path.join(profileDir, 'websocket'),
  };
  for (const dir of Object.values(dirs)) mkdirSync(dir, { recursive: true });
  // each service gets its own directory so the file names say whose profile it is
  chat = await startService('chat', {
    env: benchEnv({ authUrl: auth.url }),
    logDir,
    nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${dirs.chat}`],
  });
  websocket = await startService('websocket', {
    env: benchEnv({ authUrl: auth.url, chatUrl: chat.url }),
    logDir,
    nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${dirs.websocket}`],
  });
  parleyUrls = { ...parleyUrls, chat: chat.url, ws: websocket.url.replace('http', 'ws') };
  await connectGroup('parley', 'parley', parleyUrls.ws, chatUsers);
  const window = { fromUs: nowMs() * 1000 };
  const step = await runStep({
    mode: 'rest',
    group: 'parley',
    rate,
    url: parleyUrls.chat,
    durationMs: config.profileMs,
  });
  window.toUs = nowMs() * 1000;
  // the websocket's own work shows best under fan-out: one room step at its saturation
  let roomStep;
  const roomWindow = {};
  const roomRate = results.scenarios.fanout?.summary.roomDeliveriesPerSecond;
  if (room && roomRate) {
    const msgRate = Math.max(1, Math.round(roomRate / config.users));
    log(`profile: room fan-out at ${msgRate} msg/s`);
    roomWindow.fromUs = nowMs() * 1000;
    roomStep = await runStep({
      mode: 'room',
      group: 'parley',
      rate: msgRate,
      url: parleyUrls.chat,
      durationMs: config.profileMs,
      extra: { conversationId: room.conversationId, senderToken: room.senderToken },
    });
    roomWindow.toUs = nowMs() * 1000;
  }
  await disconnectGroup('parley');
  await stopParleyMessagePath();
  const summaries = {};
  for (const [name, dir] of Object.entries(dirs)) {
    const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
    if (!file) {
      results.notes.push(`no CPU profile was written for ${name}`);
      continue;
    }
    summaries[name] = summariseProfile(path.join(dir, file), { top: 20, window });
    if (!summaries[name].windowed)
      results.notes.push(`${name}'s profile could not be cut to the step: it includes start-up`);
    if (roomStep) {
      summaries[`${name} (room fan-out)`] = summariseProfile(path.join(dir, file), {
        top: 20,
        window: roomWindow,
      });
    }
    if (opts['keep-profiles']) {
      mkdirSync(path.join(outDir, `${stamp}-profiles`), { recursive: true });
      renameSync(
        path.join(dir, file),
        path.join(outDir, `${stamp}-profiles`, `${name}.cpuprofile`),
      );
    }
  }
  return { rate, mode: 'rest', step, roomStep, services: summaries };
}

/**
 * What each database operation of Parley's send path costs on this server, timed from
 * here with the stack idle, next to the raw pipeline's single insert. Explains the gap
 * that the CPU profiles cannot: chat and websocket mostly wait on the database.
 */
async function probeDatabase() {
  const client = await new MongoClient(mongoBase).connect();
  try {
    const db = client.db('parley_bench');
    const messages = db.collection('messages');
    const sample = await messages.findOne({});
    const users = db.collection('users');
    const user = await users.findOne({});
    const time = async (fn) => {
      const runs = [];
      for (let i = 0; i < 7; i += 1) {
        const begun = nowMs();
        await fn();
        runs.push(nowMs() - begun);
      }
      return round(median(runs), 2);
    };
    const ops = [
      [
        'conversation by _id (resolve, ensureDirect)',
        'conversations',
        () => db.collection('conversations').findOne({ _id: sample.conversationId }),
      ],
      [
        'highest seq of a conversation (insertNext without a hint)',
        'messages',
        () =>
          messages.findOne(
            { conversationId: sample.conversationId },
            { sort: { seq: -1 }, projection: { seq: 1 } },
          ),
      ],
      [
        'message by idempotency key (only after a send is refused as a repeat)',
        'messages',
        () => messages.findOne({ idempotencyKey: `${sample.senderId}:probe` }),
      ],
      [
        'outbox mark-published, a batch of 10 (_id $in + conditions, no match)',
        'messages',
        () => {
          const ids = Array.from({ length: 10 }, () => new ObjectId());
          return messages.updateMany(
            {
              _id: { $in: ids },
              outboxCount: 1,
              $or: ids.map((_id) => ({ _id, 'outbox.probe': { $exists: true } })),
            },
            { $unset: { outbox: '' } },
          );
        },
      ],
      [
        'outbox relay scan (outboxDueAt <= t)',
        'messages',
        () =>
          messages
            .find({ outboxDueAt: { $lte: new Date(0) } })
            .limit(200)
            .toArray(),
      ],
      [
        'user by username (auth /users/:username)',
        'users',
        () => users.findOne({ username: user.username }),
      ],
      ['message by _id', 'messages', () => messages.findOne({ _id: sample._id })],
      [
        'raw pipeline insert',
        'raw_messages',
        () =>
          client
            .db('raw_bench')
            .collection('raw_messages')
            .insertOne({ to: 'probe', text: 'probe', createdAt: new Date() }),
      ],
    ];
    const sizes = {};
    for (const name of ['messages', 'conversations', 'users'])
      sizes[name] = await db.collection(name).estimatedDocumentCount();
    sizes.raw_messages = await client
      .db('raw_bench')
      .collection('raw_messages')
      .estimatedDocumentCount();
    const out = [];
    for (const [operation, collection, fn] of ops)
      out.push({ operation, collection, medianMs: await time(fn) });
    log(`database probe: ${out.map((o) => `${o.operation} ${o.medianMs} ms`).join('; ')}`);
    return { sizes, operations: out };
  } finally {
    await client.close();
  }
}

// ---------------------------------------------------------------- main

let failed = false;
try {
  await prepareUsers();
  if (config.scenarios.includes('chat')) {
    results.scenarios.chat = await scenarioChat();
    results.scenarios.chat.databaseProbe = await probeDatabase();
  }
  if (config.scenarios.includes('fanout')) results.scenarios.fanout = await scenarioFanout();
  if (needsPeer) results.scenarios.peer = await scenarioPeer();
  if (config.scenarios.includes('connections')) {
    await disconnectGroup('parley');
    results.scenarios.connections = await scenarioConnections();
  }
  if (config.scenarios.includes('auth')) results.scenarios.auth = await scenarioAuth();
  if (config.scenarios.includes('profile')) {
    const saturated = results.scenarios.chat?.summary.rest.saturatedRate;
    const rate = Math.round(saturated ?? 50); // without the chat scenario: a rate this machine keeps up with
    results.scenarios.profile = await scenarioProfile(rate);
  }
} catch (err) {
  failed = true;
  results.error = err instanceof Error ? err.stack : String(err);
  log(`FAILED: ${results.error}\nservice logs: ${logDir}`);
}
results.finishedAt = new Date().toISOString();
results.durationSeconds = Math.round((Date.now() - started) / 1000);
results.machine.loadAverageAtEnd = loadAverage();

await cleanup();
mkdirSync(outDir, { recursive: true });
const base = path.join(outDir, stamp);
writeFileSync(`${base}.json`, `${JSON.stringify(results, null, 2)}\n`);
await writeReport(results, base);
log(
  `wrote ${path.relative(process.cwd(), base)}.{json,md} and charts in ${results.durationSeconds}s`,
);
if (!failed) rmSync(tmp, { recursive: true, force: true });
process.exit(failed ? 1 : 0);
